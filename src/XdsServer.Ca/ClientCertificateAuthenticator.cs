using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>Authenticates a caller by its TLS client certificate: an X.509-SVID issued under this CA's root (or,
/// with a <see cref="RotatingCertificateAuthority"/>, any root of its trust bundle), whose single URI SAN is the
/// caller's SPIFFE ID. The chain is checked here too, so a host whose TLS layer accepts any client certificate
/// still cannot be fooled.</summary>
/// <remarks>
/// <para>A certificate proves its SPIFFE ID only when it is a workload's client certificate: not a CA's
/// (basicConstraints cA=true is refused), with a keyUsage extension carrying digitalSignature (and neither
/// keyCertSign nor cRLSign), with an extendedKeyUsage extension naming clientAuth, with exactly one URI SAN that is
/// a SPIFFE ID, and chaining to the CA's own roots through the CA's own intermediates at the current time. The
/// chain is built offline: a certificate's authorityInfoAccess URLs are never followed, so a caller cannot make
/// the server connect anywhere, and an intermediate the CA does not hold is never found. The proof holds until
/// the earliest NotAfter of the chain (<see cref="CallerAuthenticationResult.ValidUntil"/>).</para>
/// <para>What a certificate-authenticated CSR (a renewal) allows: the holder of a valid SVID can obtain a fresh
/// one for the same identity, whose lifetime is bounded by <see cref="WorkloadCertificateOptions.MaxLifetime"/>,
/// and renew that one in turn. So a stolen private key can be renewed indefinitely, until certificates of that
/// identity are no longer accepted; the expiry of the stolen certificate alone does not end it. The defences are
/// short lifetimes (a thief who loses the key's use for one lifetime is locked out), a root rotation (certificates
/// under the retired root stop being accepted once the overlap ends), or
/// <see cref="CertificateAuthorityHostOptions.AcceptClientCertificates"/> = <see langword="false"/> (callers prove
/// identities with bearer tokens only, whose revocation the token reviewer controls).</para>
/// </remarks>
public sealed class ClientCertificateAuthenticator : ICallerAuthenticator
{
    private const string BasicConstraintsOid = "2.5.29.19";
    private const string KeyUsageOid = "2.5.29.15";
    private const string ExtendedKeyUsageOid = "2.5.29.37";

    // A URI SAN is the caller's text: quoted in a reason, it is escaped and clipped.
    private const int MaxQuotedLength = 128;

    private readonly Func<(IEnumerable<X509Certificate2> Roots, IEnumerable<X509Certificate2> Intermediates)> _trust;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the authenticator for one fixed CA.</summary>
    /// <param name="authority">The CA whose root client certificates must chain to.</param>
    /// <param name="timeProvider">The clock for validity checks.</param>
    public ClientCertificateAuthenticator(CertificateAuthority authority, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        _trust = () => ([authority.RootCertificate], Intermediates(authority));
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Creates the authenticator for a CA that rotates its root: certificates under any root of the
    /// current trust bundle are accepted (both roots during an overlap).</summary>
    /// <param name="authority">The rotating CA.</param>
    /// <param name="timeProvider">The clock for validity checks.</param>
    public ClientCertificateAuthenticator(RotatingCertificateAuthority authority, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        _trust = () => (authority.TrustBundle.Roots, Intermediates(authority.Current));
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Name => "client certificate";

    /// <inheritdoc />
    public ValueTask<CallerAuthenticationResult> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The certificate the TLS handshake itself verified the key of: never one a middleware took from a header
        // (certificate forwarding), which anyone who has seen an SVID could send.
        if (context.Features.Get<ITlsHandshakeFeature>() is null)
        {
            return ValueTask.FromResult(CallerAuthenticationResult.Fail("the connection is not TLS"));
        }
        if (context.Features.Get<ISslStreamFeature>()?.SslStream is not { } ssl)
        {
            return ValueTask.FromResult(CallerAuthenticationResult.Fail("the connection's TLS stream is not available (Kestrel HTTPS is required)"));
        }
        if (ssl.RemoteCertificate is not { } remote)
        {
            return ValueTask.FromResult(CallerAuthenticationResult.Fail("no client certificate was presented"));
        }
        using var certificate = X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        return ValueTask.FromResult(Authenticate(certificate));
    }

    /// <summary>Checks one certificate: it is a workload's client certificate (not a CA; keyUsage with
    /// digitalSignature; extendedKeyUsage with clientAuth), carries exactly one URI SAN that is a SPIFFE ID
    /// (X.509-SVID 2), and chains to the CA's roots now without fetching anything.</summary>
    /// <param name="certificate">The peer's leaf certificate.</param>
    /// <returns>The certificate's SPIFFE ID and the earliest NotAfter of its chain, or why it proves none.</returns>
    public CallerAuthenticationResult Authenticate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var uris = SubjectAlternativeNames.ReadUris(certificate);
        if (uris is null)
        {
            return CallerAuthenticationResult.Fail("the client certificate's subjectAltName extension is malformed");
        }
        if (uris.Count != 1)
        {
            return CallerAuthenticationResult.Fail($"the client certificate has {uris.Count} URI SANs; an X.509-SVID has exactly one");
        }
        if (!SpiffeId.TryParse(uris[0], out var identity, out var error))
        {
            return CallerAuthenticationResult.Fail(
                $"the client certificate's URI SAN \"{ClientText.ForLog(uris[0], MaxQuotedLength)}\" is not a SPIFFE ID: {error}");
        }
        if (ProfileProblem(certificate) is { } problem)
        {
            return CallerAuthenticationResult.Fail(problem);
        }

        // A client sends its intermediates in the handshake, but the server sees the leaf alone: the CA's are used.
        var (roots, intermediates) = _trust();
        if (Chains.Problems(certificate, roots, intermediates, _timeProvider.GetUtcNow(), out var validUntil) is { } statuses)
        {
            var problems = string.Join("; ", statuses.Select(s => s.StatusInformation.Trim()));
            return CallerAuthenticationResult.Fail($"the client certificate does not chain to this CA's trust bundle: {problems}");
        }
        return CallerAuthenticationResult.Success(identity, validUntil);
    }

    /// <summary>Why the certificate is not a workload's client certificate (X.509-SVID 4.3 and RFC 5280
    /// 4.2.1.3/4.2.1.9/4.2.1.12), or null when it is one.</summary>
    private static string? ProfileProblem(X509Certificate2 certificate)
    {
        X509Extension? constraints = null;
        X509Extension? usage = null;
        X509Extension? purposes = null;
        foreach (var extension in certificate.Extensions)
        {
            var (name, duplicate) = extension.Oid?.Value switch
            {
                BasicConstraintsOid => ("basicConstraints", Take(ref constraints, extension)),
                KeyUsageOid => ("keyUsage", Take(ref usage, extension)),
                ExtendedKeyUsageOid => ("extendedKeyUsage", Take(ref purposes, extension)),
                _ => (null, false),
            };
            if (duplicate)
            {
                // RFC 5280 4.2: a certificate must not include more than one instance of an extension.
                return $"the client certificate has more than one {name} extension";
            }
        }

        try
        {
            if (constraints is not null && new X509BasicConstraintsExtension(constraints, constraints.Critical).CertificateAuthority)
            {
                return "the client certificate is a CA certificate (basicConstraints cA=true); a workload's certificate is not";
            }
            if (usage is null)
            {
                return "the client certificate has no keyUsage extension; a workload's certificate carries digitalSignature";
            }
            var flags = new X509KeyUsageExtension(usage, usage.Critical).KeyUsages;
            if ((flags & X509KeyUsageFlags.DigitalSignature) == 0)
            {
                return $"the client certificate's keyUsage ({flags}) lacks digitalSignature";
            }
            if ((flags & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
            {
                return $"the client certificate's keyUsage ({flags}) includes keyCertSign or cRLSign, which only a CA's certificate may";
            }
            if (purposes is null)
            {
                return $"the client certificate has no extendedKeyUsage extension; a client certificate names clientAuth ({WellKnownOids.ClientAuth})";
            }
            var named = new List<string>();
            foreach (var purpose in new X509EnhancedKeyUsageExtension(purposes, purposes.Critical).EnhancedKeyUsages)
            {
                if (purpose.Value == WellKnownOids.ClientAuth)
                {
                    return null;
                }
                named.Add(purpose.Value ?? "?");
            }
            return $"the client certificate's extendedKeyUsage ({string.Join(", ", named)}) lacks clientAuth ({WellKnownOids.ClientAuth})";
        }
        catch (CryptographicException)
        {
            return "the client certificate's basicConstraints, keyUsage or extendedKeyUsage extension is malformed";
        }
    }

    /// <summary>Stores <paramref name="extension"/> in <paramref name="slot"/>; true when the slot was already taken.</summary>
    private static bool Take(ref X509Extension? slot, X509Extension extension)
    {
        var taken = slot is not null;
        slot = extension;
        return taken;
    }

    private static IEnumerable<X509Certificate2> Intermediates(CertificateAuthority authority) =>
        authority.CertificateChain.Take(authority.CertificateChain.Count - 1);
}
