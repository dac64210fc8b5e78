using System.Text.Json;
using k8s;
using k8s.Models;

namespace XdsServer.Kubernetes;

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
    public JsonElement Spec { get; set; }
}
