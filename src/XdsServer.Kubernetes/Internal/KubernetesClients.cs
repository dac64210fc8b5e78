using System.Net;
using k8s;
using k8s.Autorest;

namespace XdsServer.Kubernetes.Internal;

/// <summary>Where a component's Kubernetes client comes from, and how API errors read.</summary>
internal static class KubernetesClients
{
    /// <summary>The injected client, else one from the kubeconfig file, else the default (in-cluster when run in a
    /// pod, <c>~/.kube/config</c> otherwise).</summary>
    /// <param name="client">The injected client, if any.</param>
    /// <param name="kubeConfigPath">The kubeconfig file, if any.</param>
    /// <param name="owned">Whether the client was made here (and is to be disposed by the caller).</param>
    public static IKubernetes Create(IKubernetes? client, string? kubeConfigPath, out bool owned)
    {
        if (client is not null)
        {
            owned = false;
            return client;
        }
        var configuration = kubeConfigPath is null
            ? KubernetesClientConfiguration.BuildDefaultConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeConfigPath);
        owned = true;
        return new k8s.Kubernetes(configuration);
    }

    /// <summary>The HTTP status of a failed API call, when the server answered.</summary>
    public static HttpStatusCode? StatusOf(Exception exception) =>
        exception is HttpOperationException { Response: { } response } ? response.StatusCode : null;

    public static bool IsNotFound(Exception exception) => StatusOf(exception) == HttpStatusCode.NotFound;

    public static bool IsConflict(Exception exception) => StatusOf(exception) == HttpStatusCode.Conflict;

    /// <summary>"HTTP 403 Forbidden", or the exception's message when no answer came; never a response body.</summary>
    public static string Describe(Exception exception) => StatusOf(exception) is { } status
        ? $"HTTP {(int)status} {status}"
        : exception.Message;
}
