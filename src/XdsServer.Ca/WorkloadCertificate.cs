namespace XdsServer.Ca;

/// <summary>An issued X.509-SVID and the chain that proves it.</summary>
public sealed record WorkloadCertificate
{
    /// <summary>The identity in the certificate's URI SAN: the caller's proven identity.</summary>
    public required SpiffeId Identity { get; init; }

    /// <summary>The serial number, upper-case hexadecimal.</summary>
    public required string SerialNumber { get; init; }

    /// <summary>Start of validity (set back by the clock-skew allowance).</summary>
    public required DateTimeOffset NotBefore { get; init; }

    /// <summary>End of validity.</summary>
    public required DateTimeOffset NotAfter { get; init; }

    /// <summary>True when the requested lifetime was longer than allowed and was shortened.</summary>
    public bool LifetimeClamped { get; init; }

    /// <summary>PEM certificates, leaf first and root last (istiod's <c>cert_chain</c> order).</summary>
    public required IReadOnlyList<string> CertificateChainPem { get; init; }

    /// <summary>The leaf certificate as PEM.</summary>
    public string CertificatePem => CertificateChainPem[0];

    /// <summary>The root (trust anchor) as PEM.</summary>
    public string RootCertificatePem => CertificateChainPem[^1];
}
