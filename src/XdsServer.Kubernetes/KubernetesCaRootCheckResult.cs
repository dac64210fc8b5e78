namespace XdsServer.Kubernetes;

/// <summary>What one check of <see cref="KubernetesCaRootRotator.CheckAsync"/> found and did.</summary>
public enum KubernetesCaRootCheckResult
{
    /// <summary>The Secret in use holds the CA in use, and its root is not due for renewal.</summary>
    Unchanged,

    /// <summary>The Secret in use held another CA (another replica renewed the root, or an operator replaced
    /// <c>cacerts</c>): it was loaded and signs now.</summary>
    Reloaded,

    /// <summary>The self-signed root was due for renewal, and this replica (holding the Lease) renewed it, stored it
    /// and signs under it now.</summary>
    Renewed,

    /// <summary>The self-signed root is due for renewal, and another replica holds the Lease: the renewal is left to
    /// it, and its root is picked up at a later check.</summary>
    RenewalDeferred,

    /// <summary>The plugged-in CA is near its end; a warning was logged. It is never rotated here.</summary>
    PluggedCaExpiring,

    /// <summary>Neither Secret exists any more; the CA in use keeps signing.</summary>
    SecretsMissing,

    /// <summary>The check failed (the API server refused or could not be reached, or the Secret holds no usable CA);
    /// it was logged, the CA in use keeps signing, and the next check tries again.</summary>
    Failed,
}
