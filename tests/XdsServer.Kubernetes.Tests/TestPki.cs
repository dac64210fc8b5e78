using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XdsServer.Ca;

namespace XdsServer.Kubernetes.Tests;

/// <summary>CA material for Secrets: a plugged-in root and an intermediate it signed, in the cacerts shape.</summary>
internal static class TestPki
{
    public static Dictionary<string, string> PluggedIntermediate(TimeProvider clock, out string rootPem, out string intermediatePem)
    {
        using var root = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = "plugged.example" }, clock);
        return Intermediate(root, clock, out rootPem, out intermediatePem);
    }

    /// <summary>An intermediate (valid 365 days) signed by <paramref name="root"/>, in the cacerts shape.</summary>
    public static Dictionary<string, string> Intermediate(CertificateAuthority root, TimeProvider clock, out string rootPem, out string intermediatePem)
    {
        var rootFiles = root.ExportPem();
        using var rootWithKey = X509Certificate2.CreateFromPem(rootFiles[CaCertsFolder.CaCertFile], rootFiles[CaCertsFolder.CaKeyFile]);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=plugged.example, CN=Intermediate CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = clock.GetUtcNow();
        using var intermediate = request.Create(rootWithKey, now, now.AddDays(365), RandomNumberGenerator.GetBytes(12));

        rootPem = root.RootCertificatePem;
        intermediatePem = intermediate.ExportCertificatePem();
        return new Dictionary<string, string>
        {
            [CaCertsFolder.CaCertFile] = intermediatePem,
            [CaCertsFolder.CaKeyFile] = key.ExportPkcs8PrivateKeyPem(),
            [CaCertsFolder.RootCertFile] = rootPem,
            [CaCertsFolder.CertChainFile] = intermediatePem + "\n" + rootPem,
        };
    }

    /// <summary>The cacerts files of <see cref="PluggedIntermediate"/> in the cert-manager form: tls.crt (the
    /// intermediate, followed by the root when <paramref name="withChain"/>), tls.key and ca.crt.</summary>
    public static Dictionary<string, string> TlsForm(Dictionary<string, string> cacerts, bool withChain) => new()
    {
        ["tls.crt"] = withChain ? cacerts[CaCertsFolder.CertChainFile] : cacerts[CaCertsFolder.CaCertFile],
        ["tls.key"] = cacerts[CaCertsFolder.CaKeyFile],
        ["ca.crt"] = cacerts[CaCertsFolder.RootCertFile],
    };

    /// <summary>A self-signed root in the istio-ca-secret shape: ca-cert.pem and ca-key.pem only.</summary>
    public static Dictionary<string, string> SelfSigned(TimeProvider clock, out string rootPem, TimeSpan? lifetime = null)
    {
        using var root = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { RootLifetime = lifetime ?? TimeSpan.FromDays(3650) }, clock);
        var files = root.ExportPem();
        rootPem = root.RootCertificatePem;
        return new Dictionary<string, string>
        {
            [CaCertsFolder.CaCertFile] = files[CaCertsFolder.CaCertFile],
            [CaCertsFolder.CaKeyFile] = files[CaCertsFolder.CaKeyFile],
        };
    }
}
