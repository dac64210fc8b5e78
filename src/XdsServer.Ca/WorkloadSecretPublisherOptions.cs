namespace XdsServer.Ca;

/// <summary>How <see cref="WorkloadSecretPublisher"/> lets go of identities no stream uses any more.</summary>
public sealed record WorkloadSecretPublisherOptions
{
    /// <summary>
    /// How long an identity given to <see cref="WorkloadSecretPublisher.Ensure"/> is kept after its last use
    /// (the last <c>Ensure</c>, or the last sweep that found a stream open in its group): then the rotator stops
    /// holding and renewing it and its group's secrets are cleared; a later stream as that identity gets a fresh
    /// certificate. Sweeps run every quarter of this, at least every minute and at most every second, so an
    /// identity is released up to one sweep period late. Default 1 hour; null never releases.
    /// </summary>
    public TimeSpan? IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        if (IdleTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            throw new ArgumentException($"IdleTimeout ({idle}) must be positive; use null to never release identities.", nameof(IdleTimeout));
        }
    }
}
