using k8s;
using XdsServer.Ca;

namespace XdsServer.Kubernetes;

/// <summary>How a <see cref="KubernetesTokenReviewer"/> asks the Kubernetes API server about bearer tokens.</summary>
public sealed class KubernetesTokenReviewOptions
{
    /// <summary>The audiences a token must be for (sent in the review; the answer must name one of them). Default
    /// <c>istio-ca</c>, the audience istio-agent's tokens carry. Empty: the API server's own audiences, unchecked.</summary>
    public IReadOnlyList<string> Audiences { get; set; } = ["istio-ca"];

    /// <summary>The trust domain of the proven identities, <c>spiffe://&lt;domain&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>.
    /// Default <c>cluster.local</c>.</summary>
    public string TrustDomain { get; set; } = "cluster.local";

    /// <summary>How long a review's answer is reused for the same token (never beyond the token's own expiry when it
    /// is a JWT naming one). Default 60 seconds; zero turns the cache off. Failures to reach the API server are never
    /// cached.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many answers the cache holds at most. Default 10,000.</summary>
    public int MaxCacheEntries { get; set; } = 10_000;

    /// <summary>How long one review may take before the token is refused as unreviewable. Default 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The kubeconfig file to use; <see langword="null"/> for the default (in-cluster configuration in a
    /// pod, <c>~/.kube/config</c> otherwise). Ignored when <see cref="Client"/> is set.</summary>
    public string? KubeConfigPath { get; set; }

    /// <summary>A client to use instead of one built from configuration; not disposed by the reviewer.</summary>
    public IKubernetes? Client { get; set; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Audiences, nameof(Audiences));
        if (Audiences.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Audiences must not contain an empty audience.", nameof(Audiences));
        }
        if (!SpiffeId.TryParse(SpiffeId.SchemePrefix + TrustDomain, out var id, out var error) || id.Path.Length != 0)
        {
            throw new ArgumentException($"TrustDomain \"{TrustDomain}\" is not a SPIFFE trust domain: {error ?? "it contains a path"}.", nameof(TrustDomain));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(CacheDuration, TimeSpan.Zero, nameof(CacheDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCacheEntries, 1, nameof(MaxCacheEntries));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero, nameof(RequestTimeout));
    }
}
