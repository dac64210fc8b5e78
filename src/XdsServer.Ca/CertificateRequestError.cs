namespace XdsServer.Ca;

/// <summary>Why a certificate signing request was refused.</summary>
public enum CertificateRequestError
{
    /// <summary>No reason recorded.</summary>
    Unspecified = 0,

    /// <summary>The request is not a PEM block labelled <c>CERTIFICATE REQUEST</c>.</summary>
    MalformedPem,

    /// <summary>The PEM block does not hold a well-formed PKCS#10 request.</summary>
    MalformedRequest,

    /// <summary>The request's signature does not verify with the key it carries.</summary>
    BadSignature,

    /// <summary>The key type is neither RSA nor ECDSA.</summary>
    UnsupportedKey,

    /// <summary>The key is too weak: RSA under 2048 bits, or an elliptic curve other than P-256 or P-384.</summary>
    WeakKey,

    /// <summary>The requested lifetime is negative.</summary>
    InvalidLifetime,

    /// <summary>The caller's identity could not be established.</summary>
    Unauthenticated,
}
