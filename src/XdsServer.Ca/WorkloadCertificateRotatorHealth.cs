namespace XdsServer.Ca;

/// <summary>
/// A snapshot of how a <see cref="WorkloadCertificateRotator"/> is doing: how many identities it holds, and
/// whether issuing for them is failing (renewals, or reissues under a new root). It holds no key or certificate.
/// </summary>
public sealed record WorkloadCertificateRotatorHealth
{
    /// <summary>The identities held.</summary>
    public required int HeldIdentities { get; init; }

    /// <summary>The identities whose last issue attempt failed and that are waiting for a retry; they keep
    /// (and are served) their previous credential meanwhile. Zero when every renewal is on track.</summary>
    public required int FailingIdentities { get; init; }

    /// <summary>The most consecutive failed attempts of any identity now failing; zero when none is.</summary>
    public required int ConsecutiveFailures { get; init; }

    /// <summary>When the earliest scheduled retry runs; null when no identity is failing.</summary>
    public DateTimeOffset? NextRetryAt { get; init; }

    /// <summary>When the most recent failure happened (kept after recovery, as history); null when none ever did.</summary>
    public DateTimeOffset? LastFailureAt { get; init; }

    /// <summary>The identity of the most recent failure; null when none ever happened.</summary>
    public SpiffeId? LastFailureIdentity { get; init; }

    /// <summary>The cause of the most recent failure (the exception's message); null when none ever happened.</summary>
    public string? LastFailureMessage { get; init; }
}
