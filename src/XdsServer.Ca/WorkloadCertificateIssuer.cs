using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca;

/// <summary>
/// Signs workload CSRs into X.509-SVIDs. A request is signed only after its PEM parses, its key is
/// acceptable (RSA ≥ 2048, ECDSA P-256/P-384) and its signature verifies; the certificate carries the
/// caller's proven identity, never anything the CSR asks for (its subject and extensions are ignored).
/// </summary>
public sealed class WorkloadCertificateIssuer
{
    private readonly CertificateAuthority _authority;
    private readonly WorkloadCertificateOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates an issuer signing with <paramref name="authority"/>.</summary>
    public WorkloadCertificateIssuer(CertificateAuthority authority, WorkloadCertificateOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        options ??= new WorkloadCertificateOptions();
        options.Validate();
        _authority = authority;
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The lifetime options in force.</summary>
    public WorkloadCertificateOptions Options => _options;

    /// <summary>The authority that signs.</summary>
    internal CertificateAuthority Authority => _authority;

    /// <summary>
    /// Verifies <paramref name="csrPem"/> and issues a certificate for <paramref name="identity"/>.
    /// </summary>
    /// <param name="csrPem">A PKCS#10 request in PEM (<c>CERTIFICATE REQUEST</c>).</param>
    /// <param name="identity">The caller's identity, proven by the caller's authentication, not by the CSR.</param>
    /// <param name="requestedLifetime">The lifetime asked for; null or zero means the default; longer than the maximum is clamped.</param>
    /// <exception cref="CertificateRequestException">The request is refused; <see cref="CertificateRequestException.Reason"/> says why.</exception>
    public WorkloadCertificate Issue(string csrPem, SpiffeId identity, TimeSpan? requestedLifetime = null)
    {
        ArgumentNullException.ThrowIfNull(csrPem);
        ArgumentNullException.ThrowIfNull(identity);

        var der = DecodePem(csrPem);
        var publicKey = LoadUnverified(der).PublicKey;
        var isRsa = CheckKey(publicKey);
        VerifySignature(der);
        var (lifetime, clamped) = Lifetime(requestedLifetime);

        var now = CertificateAuthority.Truncate(_timeProvider.GetUtcNow());
        var signing = _authority.SigningCertificate;
        var notBefore = Max(now - _options.ClockSkewAllowance, new DateTimeOffset(signing.NotBefore.ToUniversalTime()));
        var notAfter = now + lifetime;
        // A certificate never outlives its chain.
        var chainEnd = _authority.CertificateChain.Min(c => new DateTimeOffset(c.NotAfter.ToUniversalTime()));
        if (notAfter > chainEnd)
        {
            notAfter = chainEnd;
            clamped = true;
        }
        if (notAfter <= now)
        {
            throw new InvalidOperationException($"The CA chain expired at {chainEnd:O}; no certificate can be issued.");
        }

        // X.509-SVID 4: the leaf's identity is exactly one URI SAN; with an empty subject the SAN is critical (RFC 5280 4.2.1.6).
        var request = new CertificateRequest(new X500DistinguishedName(""), publicKey, _authority.SigningHash);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(identity.ToUri());
        request.CertificateExtensions.Add(san.Build(critical: true));
        // X.509-SVID 4.1/4.3: a leaf sets cA=false and digitalSignature, never keyCertSign or cRLSign;
        // keyEncipherment is allowed, and RSA key exchange in TLS 1.2 needs it.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        var usage = X509KeyUsageFlags.DigitalSignature | (isRsa ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.None);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(WellKnownOids.ServerAuth), new Oid(WellKnownOids.ClientAuth)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(_authority.SigningKeyIdentifier.Span));

        var serial = NewSerialNumber();
        X509Certificate2 leaf;
        lock (_authority.SigningLock)
        {
            leaf = request.Create(signing.SubjectName, _authority.SignatureGenerator, notBefore, notAfter, serial);
        }
        using (leaf)
        {
            return new WorkloadCertificate
            {
                Identity = identity,
                SerialNumber = Convert.ToHexString(serial),
                NotBefore = notBefore,
                NotAfter = notAfter,
                LifetimeClamped = clamped,
                CertificateChainPem = [leaf.ExportCertificatePem(), .. _authority.CertificateChainPem],
            };
        }
    }

    private static byte[] DecodePem(string csrPem)
    {
        if (!PemEncoding.TryFind(csrPem, out var fields))
        {
            throw new CertificateRequestException(CertificateRequestError.MalformedPem, "CSR is not PEM: no well-formed \"-----BEGIN CERTIFICATE REQUEST-----\" block was found.");
        }
        var label = csrPem.AsSpan()[fields.Label];
        if (label is not "CERTIFICATE REQUEST" and not "NEW CERTIFICATE REQUEST")
        {
            throw new CertificateRequestException(CertificateRequestError.MalformedPem, $"CSR PEM block is labelled \"{label}\", not \"CERTIFICATE REQUEST\".");
        }
        return Convert.FromBase64String(csrPem[fields.Base64Data]);
    }

    private static CertificateRequest LoadUnverified(byte[] der)
    {
        try
        {
            return CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.SkipSignatureValidation);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateRequestException(CertificateRequestError.MalformedRequest, $"CSR is not a well-formed PKCS#10 request: {ex.Message}", ex);
        }
    }

    /// <summary>Checks the key is RSA ≥ 2048 or ECDSA P-256/P-384; returns true for RSA.</summary>
    private static bool CheckKey(PublicKey publicKey)
    {
        switch (publicKey.Oid.Value)
        {
            case WellKnownOids.RsaEncryption:
                using (var rsa = ImportRsa(publicKey))
                {
                    if (rsa.KeySize < CertificateAuthorityOptions.MinRsaKeySize)
                    {
                        throw new CertificateRequestException(CertificateRequestError.WeakKey,
                            $"CSR key is RSA-{rsa.KeySize}; at least RSA-{CertificateAuthorityOptions.MinRsaKeySize} is required.");
                    }
                }
                return true;
            case WellKnownOids.EcPublicKey:
                var curve = ReadCurve(publicKey);
                if (curve is not WellKnownOids.NistP256 and not WellKnownOids.NistP384)
                {
                    throw new CertificateRequestException(CertificateRequestError.WeakKey,
                        $"CSR key is on elliptic curve {curve ?? "(unnamed)"}; only P-256 and P-384 are accepted.");
                }
                return false;
            default:
                throw new CertificateRequestException(CertificateRequestError.UnsupportedKey,
                    $"CSR key type {publicKey.Oid.FriendlyName ?? publicKey.Oid.Value} is not supported; use ECDSA P-256/P-384 or RSA ≥ 2048.");
        }
    }

    private static RSA ImportRsa(PublicKey publicKey)
    {
        try
        {
            return publicKey.GetRSAPublicKey() ?? throw new CryptographicException("no RSA key");
        }
        catch (CryptographicException ex)
        {
            // Well-formed outside, garbage inside the key's BIT STRING: the caller's mistake, not the CA's.
            throw new CertificateRequestException(CertificateRequestError.MalformedRequest, $"CSR's RSA public key cannot be decoded: {ex.Message}", ex);
        }
    }

    /// <summary>The named-curve OID in the EC key's algorithm parameters (RFC 5480 2.1.1), or null for explicit curves.</summary>
    private static string? ReadCurve(PublicKey publicKey)
    {
        var parameters = publicKey.EncodedParameters?.RawData;
        if (parameters is null)
        {
            return null;
        }
        try
        {
            return AsnDecoder.ReadObjectIdentifier(parameters, AsnEncodingRules.DER, out _);
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    private static void VerifySignature(byte[] der)
    {
        try
        {
            // Default load options verify the request's self-signature.
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateRequestException(CertificateRequestError.BadSignature, $"CSR signature does not verify with the CSR's public key ({ex.Message}).", ex);
        }
    }

    private (TimeSpan Lifetime, bool Clamped) Lifetime(TimeSpan? requested)
    {
        if (requested is null || requested.Value == TimeSpan.Zero)
        {
            return (_options.DefaultLifetime, false);
        }
        if (requested.Value < TimeSpan.Zero)
        {
            throw new CertificateRequestException(CertificateRequestError.InvalidLifetime, $"Requested lifetime {requested.Value} is negative.");
        }
        // Issue 4: "a configurable maximum that requests are clamped to".
        return requested.Value > _options.MaxLifetime ? (_options.MaxLifetime, true) : (requested.Value, false);
    }

    /// <summary>128 random bits, positive and minimally encoded (RFC 5280 4.1.2.2: at most 20 octets, positive).</summary>
    private static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
