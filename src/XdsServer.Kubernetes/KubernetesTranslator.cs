using k8s;
using k8s.Models;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes;

/// <summary>
/// Turns one Kubernetes object into the registry objects it stands for: a Service into a
/// <see cref="DiscoveredService"/>, an EndpointSlice into an <see cref="EndpointGroup"/>, a Pod into a
/// <see cref="Workload"/>, an Istio ServiceEntry into a service (and its inline endpoints), a WorkloadEntry into a
/// workload, and every other kind into a <see cref="ConfigObject"/>. Shared by the live and the manifest sources, so
/// both give the same registry for the same objects.
/// </summary>
public sealed class KubernetesTranslator
{
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
    public IReadOnlyList<RegistryObject> Translate(IKubernetesObject<V1ObjectMeta> obj) =>
        throw new NotImplementedException("Being written.");
}

/// <summary>A Kubernetes object of a kind without a typed model (the Istio kinds): its metadata and its
/// <c>spec</c> as JSON.</summary>
public sealed class GenericObject : IKubernetesObject<V1ObjectMeta>
{
    /// <inheritdoc />
    public string ApiVersion { get; set; } = string.Empty;

    /// <inheritdoc />
    public string Kind { get; set; } = string.Empty;

    /// <inheritdoc />
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The object's <c>spec</c>; an empty object when it has none.</summary>
    public System.Text.Json.JsonElement Spec { get; set; }
}
