using System.Collections.Frozen;
using System.Text.Json;
using k8s;
using k8s.Models;
using XdsServer.Discovery;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// Turns one Kubernetes object into the registry objects it stands for: a Service into a
/// <see cref="DiscoveredService"/>, an EndpointSlice into an <see cref="EndpointGroup"/>, a Pod into a
/// <see cref="Workload"/>, an Istio ServiceEntry into a service (and its inline endpoints), a WorkloadEntry into a
/// workload, and every other kind into a <see cref="ConfigObject"/>. Shared by the live and the manifest sources, so
/// both give the same registry for the same objects.
/// </summary>
/// <remarks>
/// <para>Every object is stamped with its <c>metadata.resourceVersion</c>, or a hash of its content when it has none
/// (a manifest), so equal versions mean equal content. A namespaced object without a namespace is in
/// <c>default</c>, as <c>kubectl apply</c> would put it; Namespaces and Nodes are cluster-scoped.</para>
/// <para>Kinds are named as in <see cref="RegistryKinds"/>: the core group's kinds by their bare name (<c>Service</c>,
/// <c>Pod</c>, <c>Namespace</c>), every other group's as <c>&lt;group&gt;/&lt;Kind&gt;</c>
/// (<c>networking.istio.io/VirtualService</c>), whatever the version.</para>
/// <para>An Istio ServiceEntry names one <see cref="DiscoveredService"/> per host, keyed
/// <c>(networking.istio.io/ServiceEntry, namespace, "&lt;entry name&gt;/&lt;host&gt;")</c>; its inline
/// <c>spec.endpoints</c> become one <see cref="EndpointGroup"/> per host (a group belongs to one service) of kind
/// <see cref="ServiceEntryEndpointsKind"/> and the same name.</para>
/// </remarks>
public sealed class KubernetesTranslator
{
    /// <summary>The kind of the endpoint groups made of a ServiceEntry's inline <c>spec.endpoints</c>.</summary>
    public const string ServiceEntryEndpointsKind = "networking.istio.io/ServiceEntry.endpoints";

    /// <summary>Istio's label (and WorkloadEntry field) saying whether a workload takes mutual TLS.</summary>
    internal const string TlsModeLabel = "security.istio.io/tlsMode";

    /// <summary>The label naming the Service an EndpointSlice belongs to.</summary>
    internal const string ServiceNameLabel = "kubernetes.io/service-name";

    private const string ExportToAnnotation = "networking.istio.io/exportTo";
    private const string LocalityLabel = "istio-locality";

    /// <summary>Creates a translator.</summary>
    /// <param name="domain">The cluster's DNS domain (services are <c>name.namespace.svc.&lt;domain&gt;</c>).</param>
    public KubernetesTranslator(string domain = "cluster.local")
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        Domain = domain;
    }

    /// <summary>The cluster's DNS domain.</summary>
    public string Domain { get; }

    /// <summary>The registry objects <paramref name="obj"/> stands for (none for a kind the registry does not hold).</summary>
    /// <param name="obj">A Kubernetes object (a typed model object, or a <see cref="GenericObject"/> for a custom kind).</param>
    /// <returns>The registry objects.</returns>
    /// <exception cref="FormatException">The <c>spec</c> of a ServiceEntry or WorkloadEntry does not have the
    /// shape of its kind (a field of the wrong type, no hosts); the message names the field.</exception>
    public IReadOnlyList<RegistryObject> Translate(IKubernetesObject<V1ObjectMeta> obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return obj switch
        {
            V1Service service => [Service(service)],
            V1EndpointSlice slice => EndpointSlice(slice),
            V1Pod pod => Pod(pod),
            V1Namespace ns => [Config("Namespace", ns, ElementOf(ns.Spec))],
            V1Node node => [Config(RegistryKinds.Node, node, ElementOf(node.Spec))],
            GenericObject generic => Generic(generic),
            _ => [],
        };
    }

    /// <summary>The registry kind of objects of <paramref name="apiVersion"/> and <paramref name="kind"/>: the bare
    /// kind for the core group, else <c>&lt;group&gt;/&lt;Kind&gt;</c>.</summary>
    internal static string KindOf(string? apiVersion, string kind)
    {
        var slash = apiVersion?.LastIndexOf('/') ?? -1;
        return slash <= 0 ? kind : $"{apiVersion![..slash]}/{kind}";
    }

    /// <summary>Whether objects of <paramref name="kind"/> (a registry kind) have no namespace.</summary>
    internal static bool IsClusterScoped(string kind) => kind is "Namespace" or "Node";

    /// <summary>The namespace an object is in: none for a cluster-scoped kind, <c>default</c> when not given.</summary>
    internal static string NamespaceOf(string kind, V1ObjectMeta? metadata) =>
        IsClusterScoped(kind) ? string.Empty : metadata?.NamespaceProperty is { Length: > 0 } ns ? ns : "default";

    private static ObjectKey KeyOf(string kind, IKubernetesObject<V1ObjectMeta> obj) =>
        new(kind, NamespaceOf(kind, obj.Metadata), obj.Metadata?.Name ?? string.Empty);

    private DiscoveredService Service(V1Service service)
    {
        var key = KeyOf(RegistryKinds.Service, service);
        var spec = service.Spec ?? new V1ServiceSpec();
        var addresses = spec.ClusterIPs is { Count: > 0 } ips ? ips : spec.ClusterIP is { } ip ? [ip] : [];
        return new DiscoveredService
        {
            Key = key,
            ResourceVersion = ContentVersion.Of(service),
            Labels = Frozen(service.Metadata?.Labels),
            Hostname = $"{key.Name}.{key.Namespace}.svc.{Domain}",
            Ports = [.. (spec.Ports ?? []).Select(PortOf)],
            Addresses = [.. addresses.Where(a => a.Length > 0 && !string.Equals(a, "None", StringComparison.OrdinalIgnoreCase))],
            ExportTo = ExportTo(service.Metadata?.Annotations),
            Selector = Frozen(spec.Selector),
        };

        static ServicePort PortOf(V1ServicePort port)
        {
            var target = port.TargetPort?.Value;
            var number = int.TryParse(target, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
            return new ServicePort(port.Name ?? string.Empty, port.Port, number, number == 0 && !string.IsNullOrEmpty(target) ? target : null,
                ServicePort.ProtocolOf(port.AppProtocol, port.Name, port.Protocol));
        }
    }

    private static IReadOnlyList<RegistryObject> EndpointSlice(V1EndpointSlice slice)
    {
        // A slice that names no Service belongs to none (a slice of a custom controller): nothing to route to.
        if (slice.Metadata?.Labels?.TryGetValue(ServiceNameLabel, out var serviceName) != true || string.IsNullOrEmpty(serviceName))
        {
            return [];
        }

        var key = KeyOf(RegistryKinds.EndpointSlice, slice);
        var ports = (slice.Ports ?? []).Where(p => p.Port is not null)
            .DistinctBy(p => p.Name ?? string.Empty)
            .ToFrozenDictionary(p => p.Name ?? string.Empty, p => p.Port!.Value, StringComparer.Ordinal);
        List<WorkloadEndpoint> endpoints = [];
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            var workload = endpoint.TargetRef is { Kind: "Pod", Name.Length: > 0 } target
                ? new ObjectKey(RegistryKinds.Pod, target.NamespaceProperty is { Length: > 0 } ns ? ns : key.Namespace, target.Name)
                : null;
            foreach (var address in endpoint.Addresses ?? [])
            {
                endpoints.Add(new WorkloadEndpoint
                {
                    Address = address,
                    Ports = ports,
                    Ready = endpoint.Conditions?.Ready != false,
                    Terminating = endpoint.Conditions?.Terminating == true,
                    NodeName = endpoint.NodeName,
                    Locality = endpoint.Zone is { Length: > 0 } zone ? new Locality(string.Empty, zone, string.Empty) : Locality.None,
                    Workload = workload,
                });
            }
        }

        return
        [
            new EndpointGroup
            {
                Key = key,
                ResourceVersion = ContentVersion.Of(slice),
                Labels = Frozen(slice.Metadata.Labels),
                Service = new ObjectKey(RegistryKinds.Service, key.Namespace, serviceName),
                Endpoints = endpoints,
            },
        ];
    }

    private static IReadOnlyList<RegistryObject> Pod(V1Pod pod)
    {
        var status = pod.Status;
        IEnumerable<string> ips = status?.PodIPs is { Count: > 0 } podIps ? podIps.Select(p => p.Ip) : [status?.PodIP ?? string.Empty];
        var addresses = ips.Where(ip => !string.IsNullOrEmpty(ip)).Distinct(StringComparer.Ordinal).ToList();
        if (addresses.Count == 0)
        {
            return []; // not scheduled yet (or a manifest without status): nothing can reach it
        }

        var labels = Frozen(pod.Metadata?.Labels);
        return
        [
            new Workload
            {
                Key = KeyOf(RegistryKinds.Pod, pod),
                ResourceVersion = ContentVersion.Of(pod),
                Labels = labels,
                Addresses = addresses,
                ServiceAccount = pod.Spec?.ServiceAccountName ?? pod.Spec?.ServiceAccount ?? "default",
                NodeName = pod.Spec?.NodeName,
                Ready = status?.Conditions?.Any(c => c.Type == "Ready" && string.Equals(c.Status, "True", StringComparison.OrdinalIgnoreCase)) == true,
                TlsMode = TlsMode(labels),
                // Istio's pod label for a locality: region.zone.subzone (a label value cannot hold '/').
                Locality = labels.TryGetValue(LocalityLabel, out var locality) ? LocalityOf(locality.Replace('.', '/')) : Locality.None,
            },
        ];
    }

    private static ConfigObject Config(string kind, IKubernetesObject<V1ObjectMeta> obj, JsonElement spec) => new()
    {
        Key = KeyOf(kind, obj),
        ResourceVersion = ContentVersion.Of(obj),
        Labels = Frozen(obj.Metadata?.Labels),
        Annotations = Frozen(obj.Metadata?.Annotations),
        Spec = spec,
    };

    private static IReadOnlyList<RegistryObject> Generic(GenericObject obj)
    {
        var kind = KindOf(obj.ApiVersion, obj.Kind);
        var spec = obj.Spec.ValueKind == JsonValueKind.Undefined ? ElementOf(null) : obj.Spec;
        return kind switch
        {
            RegistryKinds.ServiceEntry => ServiceEntry(obj, spec),
            RegistryKinds.WorkloadEntry => WorkloadEntry(obj, spec),
            _ => [Config(kind, obj, spec)],
        };
    }

    private static List<RegistryObject> ServiceEntry(GenericObject entry, JsonElement spec)
    {
        var hosts = SpecReader.Strings(spec, "hosts", "spec");
        if (hosts.Count == 0)
        {
            throw new SpecFormatException("spec.hosts", "a ServiceEntry needs at least one host");
        }

        var version = ContentVersion.Of(entry);
        var ns = NamespaceOf(RegistryKinds.ServiceEntry, entry.Metadata);
        var ports = SpecReader.Array(spec, "ports", "spec").Select(p =>
        {
            var number = SpecReader.Int(p.Item, "number", p.Path) ?? throw new SpecFormatException($"{p.Path}.number", "a port needs a number");
            var name = SpecReader.String(p.Item, "name", p.Path) ?? string.Empty;
            var protocol = SpecReader.String(p.Item, "protocol", p.Path);
            return new ServicePort(name, number, SpecReader.Int(p.Item, "targetPort", p.Path) ?? 0, null, ServicePort.ProtocolOf(protocol, name, protocol));
        }).ToList();
        var addresses = SpecReader.Strings(spec, "addresses", "spec");
        var exportTo = SpecReader.Strings(spec, "exportTo", "spec");
        var selector = SpecReader.Object(spec, "workloadSelector", "spec") is { } ws
            ? SpecReader.StringMap(ws, "labels", "spec.workloadSelector")
            : FrozenDictionary<string, string>.Empty;
        var endpoints = SpecReader.Array(spec, "endpoints", "spec").Select(e => InlineEndpoint(e.Item, e.Path, ports)).ToList();
        var resolution = SpecReader.String(spec, "resolution", "spec") is { Length: > 0 } r ? r.ToUpperInvariant() : "NONE";
        var meshExternal = !string.Equals(SpecReader.String(spec, "location", "spec"), "MESH_INTERNAL", StringComparison.OrdinalIgnoreCase);

        var labels = Frozen(entry.Metadata?.Labels);
        List<RegistryObject> result = [];
        foreach (var host in hosts.Distinct(StringComparer.Ordinal))
        {
            var key = new ObjectKey(RegistryKinds.ServiceEntry, ns, $"{entry.Metadata?.Name}/{host}");
            result.Add(new DiscoveredService
            {
                Key = key,
                ResourceVersion = version,
                Labels = labels,
                Hostname = host,
                Ports = ports,
                Addresses = addresses,
                ExportTo = exportTo,
                Selector = selector,
                Resolution = resolution,
                MeshExternal = meshExternal,
            });
            if (endpoints.Count > 0)
            {
                result.Add(new EndpointGroup
                {
                    Key = key with { Kind = ServiceEntryEndpointsKind },
                    ResourceVersion = version,
                    Labels = labels,
                    Service = key,
                    Endpoints = endpoints,
                });
            }
        }

        return result;
    }

    private static WorkloadEndpoint InlineEndpoint(JsonElement endpoint, string path, IReadOnlyList<ServicePort> servicePorts)
    {
        var address = SpecReader.String(endpoint, "address", path) ?? throw new SpecFormatException($"{path}.address", "an endpoint needs an address");
        var labels = SpecReader.StringMap(endpoint, "labels", path);
        return new WorkloadEndpoint
        {
            Address = address,
            Ports = EndpointPorts(servicePorts, SpecReader.IntMap(endpoint, "ports", path)),
            Labels = labels,
            ServiceAccount = SpecReader.String(endpoint, "serviceAccount", path),
            Locality = LocalityOf(SpecReader.String(endpoint, "locality", path)),
            TlsMode = TlsMode(labels),
        };
    }

    /// <summary>The ports of a ServiceEntry endpoint (inline, or a WorkloadEntry it selects): by service port name, the
    /// endpoint's own port of that name, else the service port's target port, else its number.</summary>
    internal static FrozenDictionary<string, int> EndpointPorts(IReadOnlyList<ServicePort> servicePorts, IReadOnlyDictionary<string, int> own) =>
        servicePorts.DistinctBy(p => p.Name).ToFrozenDictionary(
            p => p.Name,
            p => own.TryGetValue(p.Name, out var port) ? port : p.TargetPort > 0 ? p.TargetPort : p.Port,
            StringComparer.Ordinal);

    private static IReadOnlyList<RegistryObject> WorkloadEntry(GenericObject entry, JsonElement spec)
    {
        var address = SpecReader.String(spec, "address", "spec");
        var specLabels = SpecReader.StringMap(spec, "labels", "spec");
        _ = SpecReader.IntMap(spec, "ports", "spec"); // checked here, read when a ServiceEntry selects the entry
        if (string.IsNullOrEmpty(address))
        {
            return [];
        }

        // The entry's labels are its metadata labels and spec.labels, spec.labels winning: Istio selects by spec.labels.
        var labels = new Dictionary<string, string>(entry.Metadata?.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (name, value) in specLabels)
        {
            labels[name] = value;
        }

        var frozen = labels.ToFrozenDictionary(StringComparer.Ordinal);
        return
        [
            new Workload
            {
                Key = KeyOf(RegistryKinds.WorkloadEntry, entry),
                ResourceVersion = ContentVersion.Of(entry),
                Labels = frozen,
                Addresses = [address],
                ServiceAccount = SpecReader.String(spec, "serviceAccount", "spec"),
                Locality = LocalityOf(SpecReader.String(spec, "locality", "spec")),
                TlsMode = TlsMode(frozen),
            },
        ];
    }

    /// <summary>The ports a WorkloadEntry declares (<c>spec.ports</c>), by service port name.</summary>
    internal static IReadOnlyDictionary<string, int> WorkloadEntryPorts(GenericObject entry) =>
        entry.Spec.ValueKind == JsonValueKind.Object ? SpecReader.IntMap(entry.Spec, "ports", "spec") : FrozenDictionary<string, int>.Empty;

    private static Locality LocalityOf(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Locality.None;
        }

        var parts = text.Split('/', 3);
        return new Locality(parts[0], parts.Length > 1 ? parts[1] : string.Empty, parts.Length > 2 ? parts[2] : string.Empty);
    }

    private static string TlsMode(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue(TlsModeLabel, out var mode) && mode.Length > 0 ? mode : "disabled";

    private static IReadOnlyList<string> ExportTo(IDictionary<string, string>? annotations) =>
        annotations?.TryGetValue(ExportToAnnotation, out var value) == true
            ? [.. value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)]
            : [];

    private static FrozenDictionary<string, string> Frozen(IDictionary<string, string>? map) =>
        map is null || map.Count == 0 ? FrozenDictionary<string, string>.Empty : map.ToFrozenDictionary(StringComparer.Ordinal);

    private static JsonElement ElementOf(object? spec)
    {
        using var document = JsonDocument.Parse(spec is null ? "{}" : KubernetesJson.Serialize(spec));
        return document.RootElement.Clone();
    }
}
