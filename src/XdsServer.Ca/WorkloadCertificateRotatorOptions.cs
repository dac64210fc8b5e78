namespace XdsServer.Ca;

/// <summary>When <see cref="WorkloadCertificateRotator"/> renews certificates.</summary>
public sealed record WorkloadCertificateRotatorOptions
{
    /// <summary>Lifetime asked for each certificate; null means the issuer's default.</summary>
    public TimeSpan? Lifetime { get; init; }

    /// <summary>Fraction of the lifetime after which a certificate is renewed. Default 0.5.</summary>
    public double RenewalFraction { get; init; } = 0.5;

    /// <summary>
    /// Largest random shift of the renewal time, as a fraction of the lifetime, either way (so renewals of many
    /// workloads spread out). Default 0.1: renewal between 40% and 60% of the lifetime.
    /// </summary>
    public double JitterFraction { get; init; } = 0.1;

    /// <summary>
    /// Wait before the first retry after an issue fails (a renewal, or a reissue under a new root); each further
    /// consecutive failure doubles it, up to <see cref="RetryMaxDelay"/>. Each wait is drawn at random between half
    /// the doubled delay and the whole of it, so many failing identities do not retry in step. The previous
    /// credential is kept (and served) meanwhile. Default 5 seconds.
    /// </summary>
    public TimeSpan RetryInitialDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two retries of a failing identity. Default 5 minutes.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Lifetime is { } lifetime && lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("Lifetime must be positive.", nameof(Lifetime));
        }
        if (!(RenewalFraction > 0 && RenewalFraction < 1))
        {
            throw new ArgumentException($"RenewalFraction ({RenewalFraction}) must be between 0 and 1.", nameof(RenewalFraction));
        }
        if (!(JitterFraction >= 0 && JitterFraction < RenewalFraction && RenewalFraction + JitterFraction < 1))
        {
            throw new ArgumentException($"JitterFraction ({JitterFraction}) must keep the renewal inside the lifetime: 0 ≤ jitter < RenewalFraction and RenewalFraction + jitter < 1.", nameof(JitterFraction));
        }
        if (RetryInitialDelay <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RetryInitialDelay ({RetryInitialDelay}) must be positive.", nameof(RetryInitialDelay));
        }
        if (RetryMaxDelay < RetryInitialDelay)
        {
            throw new ArgumentException($"RetryMaxDelay ({RetryMaxDelay}) must be at least RetryInitialDelay ({RetryInitialDelay}).", nameof(RetryMaxDelay));
        }
    }
}
