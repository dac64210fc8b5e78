using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>Authenticates a caller by its TLS client certificate: an X.509-SVID issued under this CA's root (or,
/// with a <see cref="RotatingCertificateAuthority"/>, any root of its trust bundle), whose single URI SAN is the
/// caller's SPIFFE ID. The chain is checked here too, so a host whose TLS layer accepts any client certificate
/// still cannot be fooled.</summary>
public sealed class ClientCertificateAuthenticator : ICallerAuthenticator
{
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
    public async ValueTask<CallerAuthenticationResult> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Request.IsHttps)
        {
            return CallerAuthenticationResult.Fail("the connection is not TLS");
        }
        var certificate = context.Connection.ClientCertificate
            ?? await context.Connection.GetClientCertificateAsync(cancellationToken).ConfigureAwait(false);
        return certificate is null
            ? CallerAuthenticationResult.Fail("no client certificate was presented")
            : Authenticate(certificate);
    }

    /// <summary>Checks one certificate: it chains to the CA's root now and carries exactly one URI SAN that is a
    /// SPIFFE ID (X.509-SVID 2).</summary>
    /// <param name="certificate">The peer's leaf certificate.</param>
    /// <returns>The certificate's SPIFFE ID, or why it proves none.</returns>
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
            return CallerAuthenticationResult.Fail($"the client certificate's URI SAN \"{uris[0]}\" is not a SPIFFE ID: {error}");
        }

        // A client sends its intermediates in the handshake, but the server sees the leaf alone: the CA's are used.
        var (roots, intermediates) = _trust();
        if (Chains.Problems(certificate, roots, intermediates, _timeProvider.GetUtcNow()) is { } statuses)
        {
            var problems = string.Join("; ", statuses.Select(s => s.StatusInformation.Trim()));
            return CallerAuthenticationResult.Fail($"the client certificate does not chain to this CA's trust bundle: {problems}");
        }
        return CallerAuthenticationResult.Success(identity);
    }

    private static IEnumerable<X509Certificate2> Intermediates(CertificateAuthority authority) =>
        authority.CertificateChain.Take(authority.CertificateChain.Count - 1);
}
