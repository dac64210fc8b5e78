using System.Security.Cryptography.X509Certificates;
using XdsServer.Ca;

namespace Microsoft.AspNetCore.Server.Kestrel.Https;

/// <summary>Configures a Kestrel HTTPS endpoint to take the client certificates <see cref="ClientCertificateAuthenticator"/>
/// judges, without letting the TLS layer act on what a client certificate asks for.</summary>
public static class WorkloadClientCertificateHttpsExtensions
{
    /// <summary>
    /// Asks for a client certificate without requiring one (callers may prove an identity with a bearer token
    /// instead), accepts any at the TLS layer (<see cref="ClientCertificateAuthenticator"/> checks the chain against
    /// the CA's own roots), and makes the TLS layer's own chain building offline: no authorityInfoAccess download, no
    /// revocation fetch, no system trust store.
    /// </summary>
    /// <remarks>
    /// Without this, the TLS layer builds the client certificate's chain with the platform's defaults before any
    /// authenticator runs: it follows the certificate's authorityInfoAccess and CRL distribution point URLs, so an
    /// unauthenticated client chooses where the server connects (and how long its handshake waits). Call this after
    /// any other <see cref="HttpsConnectionAdapterOptions.OnAuthenticate"/> setting: it wraps the one already set.
    /// </remarks>
    /// <param name="https">The endpoint's HTTPS options.</param>
    /// <returns><paramref name="https"/>, for chaining.</returns>
    public static HttpsConnectionAdapterOptions AcceptWorkloadClientCertificates(this HttpsConnectionAdapterOptions https)
    {
        ArgumentNullException.ThrowIfNull(https);
        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
        https.AllowAnyClientCertificate();
        https.CheckCertificateRevocation = false;
        var previous = https.OnAuthenticate;
        https.OnAuthenticate = (connection, ssl) =>
        {
            previous?.Invoke(connection, ssl);
            // A fresh policy per handshake: the TLS layer trusts no root (its verdict is ignored anyway) and fetches nothing.
            ssl.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                DisableCertificateDownloads = true,
                RevocationMode = X509RevocationMode.NoCheck,
            };
        };
        return https;
    }
}
