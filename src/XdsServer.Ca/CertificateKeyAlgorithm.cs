namespace XdsServer.Ca;

/// <summary>The key type of a certificate authority created by this package.</summary>
public enum CertificateKeyAlgorithm
{
    /// <summary>ECDSA on NIST P-256, signing with SHA-256 (the default).</summary>
    EcdsaP256,

    /// <summary>ECDSA on NIST P-384, signing with SHA-384.</summary>
    EcdsaP384,

    /// <summary>RSA of <see cref="CertificateAuthorityOptions.RsaKeySize"/> bits (at least 2048), PKCS#1 v1.5 with SHA-256.</summary>
    Rsa,
}
