namespace XdsServer.Ca;

/// <summary>Lifetimes of issued workload certificates (X.509-SVIDs).</summary>
public sealed record WorkloadCertificateOptions
{
    /// <summary>Lifetime when the request names none. Default 24 hours.</summary>
    public TimeSpan DefaultLifetime { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Longest lifetime issued; longer requests are clamped to it. Default 90 days (istiod's MAX_WORKLOAD_CERT_TTL).</summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromDays(90);

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
