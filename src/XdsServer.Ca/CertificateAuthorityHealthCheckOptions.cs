namespace XdsServer.Ca;

/// <summary>When <see cref="CertificateAuthorityHealthCheck"/> starts warning about the end of the CA chain.
/// Register an instance as a service to change it for <c>AddCertificateAuthority</c>'s health check.</summary>
public sealed record CertificateAuthorityHealthCheckOptions
{
    /// <summary>
    /// How long before the signing chain ends the check reports Degraded. Null (the default) means twice the
    /// longest workload certificate lifetime (<see cref="WorkloadCertificateOptions.MaxLifetime"/>, so 180 days by
    /// default): by then new certificates are already cut short by the chain, and the root (or intermediate) needs
    /// rotating.
    /// </summary>
    public TimeSpan? ChainExpiryWarning { get; init; }

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        if (ChainExpiryWarning is { } warning && warning < TimeSpan.Zero)
        {
            throw new ArgumentException($"ChainExpiryWarning ({warning}) cannot be negative.", nameof(ChainExpiryWarning));
        }
    }
}
