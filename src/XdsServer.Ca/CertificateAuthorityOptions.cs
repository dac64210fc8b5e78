namespace XdsServer.Ca;

/// <summary>How a self-signed root is created when the CA folder holds none.</summary>
public sealed record CertificateAuthorityOptions
{
    /// <summary>The smallest RSA key accepted for a CA or a workload.</summary>
    public const int MinRsaKeySize = 2048;

    /// <summary>The trust domain the root serves; it becomes the root's organization. Default <c>cluster.local</c>.</summary>
    public string TrustDomain { get; init; } = "cluster.local";

    /// <summary>The root's key type. Default ECDSA P-256.</summary>
    public CertificateKeyAlgorithm KeyAlgorithm { get; init; } = CertificateKeyAlgorithm.EcdsaP256;

    /// <summary>RSA key size in bits when <see cref="KeyAlgorithm"/> is RSA; at least 2048. Default 2048.</summary>
    public int RsaKeySize { get; init; } = MinRsaKeySize;

    /// <summary>Lifetime of a created root. Default 10 years (Istio's self-signed root default).</summary>
    public TimeSpan RootLifetime { get; init; } = TimeSpan.FromDays(3650);

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        if (!SpiffeId.TryParse(SpiffeId.SchemePrefix + TrustDomain, out var id, out var error) || id.Path.Length != 0)
        {
            throw new ArgumentException($"TrustDomain \"{TrustDomain}\" is not a SPIFFE trust domain: {error ?? "it contains a path"}.", nameof(TrustDomain));
        }
        if (!Enum.IsDefined(KeyAlgorithm))
        {
            throw new ArgumentException($"KeyAlgorithm {KeyAlgorithm} is not supported.", nameof(KeyAlgorithm));
        }
        if (KeyAlgorithm == CertificateKeyAlgorithm.Rsa && RsaKeySize < MinRsaKeySize)
        {
            throw new ArgumentException($"RsaKeySize must be at least {MinRsaKeySize} bits, not {RsaKeySize}.", nameof(RsaKeySize));
        }
        if (RootLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("RootLifetime must be positive.", nameof(RootLifetime));
        }
    }
}
