using System.Collections.Frozen;
using System.Text.Json;

namespace XdsServer.Discovery;

/// <summary>An object held by the <see cref="ServiceRegistry"/>: immutable, named by its <see cref="Key"/>, stamped
/// with the version its source gave it (a Kubernetes <c>resourceVersion</c>, a file hash).</summary>
public abstract record RegistryObject
{
    /// <summary>The object's kind, namespace and name.</summary>
    public required ObjectKey Key { get; init; }

    /// <summary>The version its source gave it; equal versions mean equal content.</summary>
    public required string ResourceVersion { get; init; }

    /// <summary>The object's labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = FrozenDictionary<string, string>.Empty;
}

/// <summary>A service: a hostname with ports, reached through its endpoints.</summary>
public sealed record DiscoveredService : RegistryObject
{
    /// <summary>The fully qualified hostname, e.g. <c>reviews.default.svc.cluster.local</c>.</summary>
    public required string Hostname { get; init; }

    /// <summary>The ports.</summary>
    public IReadOnlyList<ServicePort> Ports { get; init; } = [];

    /// <summary>The virtual addresses (cluster IPs); empty for a headless service.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>Where the service is visible (Istio's <c>networking.istio.io/exportTo</c>: <c>*</c>, <c>.</c> or
    /// namespaces); empty means everywhere.</summary>
    public IReadOnlyList<string> ExportTo { get; init; } = [];

    /// <summary>For a service that selects its workloads by label (a Kubernetes Service's selector, a ServiceEntry's
    /// workloadSelector); empty when it selects none.</summary>
    public IReadOnlyDictionary<string, string> Selector { get; init; } = FrozenDictionary<string, string>.Empty;

    /// <summary>How a proxy resolves the service's endpoints, as an Istio ServiceEntry's <c>resolution</c> says
    /// (<c>NONE</c>, its default, <c>STATIC</c>, <c>DNS</c>, <c>DNS_ROUND_ROBIN</c>); null for a Kubernetes Service,
    /// whose endpoints the registry holds.</summary>
    public string? Resolution { get; init; }

    /// <summary>Whether the service is outside the mesh: an Istio ServiceEntry's <c>location</c> is
    /// <c>MESH_EXTERNAL</c> (its default); false for a Kubernetes Service.</summary>
    public bool MeshExternal { get; init; }
}

/// <summary>Where a workload runs, as Envoy's locality.</summary>
/// <param name="Region">The region (<c>topology.kubernetes.io/region</c>).</param>
/// <param name="Zone">The zone (<c>topology.kubernetes.io/zone</c>).</param>
/// <param name="Subzone">The subzone (<c>topology.istio.io/subzone</c>).</param>
public sealed record Locality(string Region, string Zone, string Subzone)
{
    /// <summary>No locality.</summary>
    public static Locality None { get; } = new(string.Empty, string.Empty, string.Empty);
}

/// <summary>One address of a service's endpoints, with what a proxy needs to route to and secure it.</summary>
public sealed record WorkloadEndpoint
{
    /// <summary>The IP address (or, for a ServiceEntry, a hostname).</summary>
    public required string Address { get; init; }

    /// <summary>The endpoint's ports by name (the service port's name; empty string for an unnamed port).</summary>
    public IReadOnlyDictionary<string, int> Ports { get; init; } = FrozenDictionary<string, int>.Empty;

    /// <summary>Ready to receive traffic.</summary>
    public bool Ready { get; init; } = true;

    /// <summary>Terminating (still serving, going away).</summary>
    public bool Terminating { get; init; }

    /// <summary>The workload's labels (of its pod or WorkloadEntry, when known).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = FrozenDictionary<string, string>.Empty;

    /// <summary>The workload's service account, when known.</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>The workload's locality.</summary>
    public Locality Locality { get; init; } = Locality.None;

    /// <summary>The node it runs on, when known.</summary>
    public string? NodeName { get; init; }

    /// <summary>Istio's <c>security.istio.io/tlsMode</c>: <c>istio</c> when the workload takes mutual TLS, else
    /// <c>disabled</c>.</summary>
    public string TlsMode { get; init; } = "disabled";

    /// <summary>The workload that owns the address (a pod or WorkloadEntry), when known.</summary>
    public ObjectKey? Workload { get; init; }
}

/// <summary>A group of a service's endpoints, as one source object holds them (an EndpointSlice). A service's
/// endpoints are the union of its groups, so one slice changing costs one group.</summary>
public sealed record EndpointGroup : RegistryObject
{
    /// <summary>The service the endpoints belong to.</summary>
    public required ObjectKey Service { get; init; }

    /// <summary>The endpoints.</summary>
    public IReadOnlyList<WorkloadEndpoint> Endpoints { get; init; } = [];
}

/// <summary>A workload instance (a pod, a WorkloadEntry): how a proxy is recognised and what it is.</summary>
public sealed record Workload : RegistryObject
{
    /// <summary>Its IP addresses.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>Its service account, when known.</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>Its locality.</summary>
    public Locality Locality { get; init; } = Locality.None;

    /// <summary>The node it runs on, when known.</summary>
    public string? NodeName { get; init; }

    /// <summary>Ready (a pod's Ready condition; always true for a WorkloadEntry).</summary>
    public bool Ready { get; init; } = true;

    /// <summary>Istio's <c>security.istio.io/tlsMode</c> label: <c>istio</c> or <c>disabled</c>.</summary>
    public string TlsMode { get; init; } = "disabled";
}

/// <summary>Any other configuration object (Istio networking and security kinds, Namespaces, ...), kept as its JSON
/// <c>spec</c> for a consumer that knows the kind.</summary>
public sealed record ConfigObject : RegistryObject
{
    /// <summary>The object's annotations.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = FrozenDictionary<string, string>.Empty;

    /// <summary>The object's <c>spec</c> (an empty object when it has none).</summary>
    public JsonElement Spec { get; init; }
}
