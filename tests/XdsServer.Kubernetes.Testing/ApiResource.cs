namespace XdsServer.Kubernetes.Testing;

/// <summary>A kind of object the <see cref="TestApiServer"/> serves: its group, version, plural and scope.</summary>
/// <param name="Group">The API group; empty for core/v1.</param>
/// <param name="Version">The version, e.g. <c>v1</c>.</param>
/// <param name="Plural">The plural resource name in URLs, e.g. <c>services</c>.</param>
/// <param name="Kind">The kind, e.g. <c>Service</c>.</param>
/// <param name="Namespaced">Whether objects live in namespaces.</param>
public sealed record ApiResource(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    /// <summary>core/v1 services.</summary>
    public static readonly ApiResource Services = new(string.Empty, "v1", "services", "Service", true);

    /// <summary>core/v1 pods.</summary>
    public static readonly ApiResource Pods = new(string.Empty, "v1", "pods", "Pod", true);

    /// <summary>core/v1 namespaces.</summary>
    public static readonly ApiResource Namespaces = new(string.Empty, "v1", "namespaces", "Namespace", false);

    /// <summary>core/v1 nodes.</summary>
    public static readonly ApiResource Nodes = new(string.Empty, "v1", "nodes", "Node", false);

    /// <summary>discovery.k8s.io/v1 endpointslices.</summary>
    public static readonly ApiResource EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true);

    /// <summary>networking.istio.io/v1 virtualservices.</summary>
    public static readonly ApiResource VirtualServices = new("networking.istio.io", "v1", "virtualservices", "VirtualService", true);

    /// <summary>The built-in kinds every server serves.</summary>
    public static IReadOnlyList<ApiResource> BuiltIn { get; } = [Services, Pods, Namespaces, Nodes, EndpointSlices];

    /// <summary><c>v1</c> or <c>group/version</c>, as in <c>apiVersion</c>.</summary>
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Whether list items carry no <c>apiVersion</c>/<c>kind</c>, as a real API server sends built-in kinds.</summary>
    public bool IsBuiltIn => Group.Length == 0 || Group.EndsWith(".k8s.io", StringComparison.Ordinal);
}
