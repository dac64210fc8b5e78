using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace XdsServer.Kubernetes.Internal;

/// <summary>The resource version of a translated object: the Kubernetes <c>resourceVersion</c> when the object has
/// one (a live cluster), else a hash of its content (a manifest), so equal versions mean equal content either way.</summary>
internal static class ContentVersion
{
    /// <summary>The object's <c>metadata.resourceVersion</c>, or a hash of its JSON form when it has none.</summary>
    public static string Of(IKubernetesObject<V1ObjectMeta> obj) => obj.Metadata?.ResourceVersion is { Length: > 0 } version
        ? version
        : Hash(obj is GenericObject generic
            ? $"{generic.ApiVersion}\n{generic.Kind}\n{KubernetesJson.Serialize(generic.Metadata)}\n{(generic.Spec.ValueKind == JsonValueKind.Undefined ? "{}" : generic.Spec.GetRawText())}"
            : KubernetesJson.Serialize(obj));

    /// <summary>A version for an object derived from several others: a hash of their versions, in order.</summary>
    public static string Combine(IEnumerable<string> parts) => Hash(string.Join('\n', parts));

    private static string Hash(string text) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, 16);
}
