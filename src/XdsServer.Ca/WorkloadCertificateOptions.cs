namespace XdsServer.Ca;

/// <summary>Lifetimes of issued workload certificates (X.509-SVIDs).</summary>
public sealed record WorkloadCertificateOptions
{
    /// <summary>Lifetime when the request names none. Default 24 hours.</summary>
    public TimeSpan DefaultLifetime { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Longest lifetime issued; longer requests are clamped to it. Default 48 hours.</summary>
    /// <remarks>A deliberate choice, stricter than istiod's 90-day <c>MAX_WORKLOAD_CERT_TTL</c>: a workload's
    /// certificate is renewed automatically long before it ends, so a short maximum costs nothing in normal
    /// running, while a stolen workload key (or a certificate issued by mistake) stays usable for two days at
    /// most rather than three months; there is no revocation to shorten that. Raise it only for workloads that
    /// must survive a longer CA outage.</remarks>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromHours(48);

    /// <summary>How far NotBefore is set back from now, for peers whose clocks run behind. Default 1 minute.</summary>
    public TimeSpan ClockSkewAllowance { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        if (DefaultLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("DefaultLifetime must be positive.", nameof(DefaultLifetime));
        }
        if (MaxLifetime < DefaultLifetime)
        {
            throw new ArgumentException($"MaxLifetime ({MaxLifetime}) must be at least DefaultLifetime ({DefaultLifetime}).", nameof(MaxLifetime));
        }
        if (ClockSkewAllowance < TimeSpan.Zero)
        {
            throw new ArgumentException("ClockSkewAllowance cannot be negative.", nameof(ClockSkewAllowance));
        }
    }
}
