using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca.Tests;

public sealed class CertificateAuthorityRenewalTests
{
    private static readonly SpiffeId Workload = SpiffeId.ForIstio("cluster.local", "ns1", "sa1");

    [Theory]
    [InlineData(CertificateKeyAlgorithm.EcdsaP256)]
    [InlineData(CertificateKeyAlgorithm.Rsa)]
    public void A_renewed_root_keeps_key_and_subject_and_certificates_verify_across_old_and_new_root(CertificateKeyAlgorithm algorithm)
    {
        var clock = TestCa.Clock();
        using var old = CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = algorithm, RootLifetime = TimeSpan.FromDays(100) }, clock);
        using var workloadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var underOld = new WorkloadCertificateIssuer(old, null, clock).Issue(TestCa.Csr(workloadKey), Workload);
        clock.Advance(TimeSpan.FromHours(1)); // the workload certificate still lives

        using var renewed = old.RenewSelfSigned(TimeSpan.FromDays(365), clock);

        Assert.Equal(old.RootCertificate.SubjectName.RawData, renewed.RootCertificate.SubjectName.RawData);
        Assert.Equal(old.RootCertificate.PublicKey.EncodedKeyValue.RawData, renewed.RootCertificate.PublicKey.EncodedKeyValue.RawData);
        Assert.NotEqual(old.RootCertificate.SerialNumber, renewed.RootCertificate.SerialNumber);
        Assert.Equal(clock.GetUtcNow().AddDays(365), new DateTimeOffset(renewed.RootCertificate.NotAfter.ToUniversalTime()));
        Assert.True(renewed.RootCertificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(
            old.RootCertificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier,
            renewed.RootCertificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier);

        // A certificate issued under the old root verifies against the new root certificate alone ...
        using (TestCa.Verify(underOld.CertificateChainPem, clock.GetUtcNow(), renewed.RootCertificatePem))
        {
        }
        // ... and one issued under the new root against the old root certificate alone (a peer not yet updated).
        var underNew = new WorkloadCertificateIssuer(renewed, null, clock).Issue(TestCa.Csr(workloadKey), Workload);
        using (TestCa.Verify(underNew.CertificateChainPem, clock.GetUtcNow(), old.RootCertificatePem))
        {
        }
    }

    [Fact]
    public void The_renewed_authority_owns_its_key_copy()
    {
        var clock = TestCa.Clock();
        var old = CertificateAuthority.CreateSelfSigned(timeProvider: clock);
        using var renewed = old.RenewSelfSigned(TimeSpan.FromDays(30), clock);
        old.Dispose();

        using var workloadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = new WorkloadCertificateIssuer(renewed, null, clock).Issue(TestCa.Csr(workloadKey), Workload);

        using (TestCa.Verify(issued.CertificateChainPem, clock.GetUtcNow()))
        {
        }
    }

    [Fact]
    public void A_plugged_intermediate_is_not_renewed_here()
    {
        var clock = TestCa.Clock();
        using var plugged = PluggedIntermediate(clock, out _);

        var ex = Assert.Throws<InvalidOperationException>(() => plugged.RenewSelfSigned(TimeSpan.FromDays(30), clock));

        Assert.Contains("Only a self-signed root can be renewed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ca_cert_pem_holding_the_intermediate_and_its_chain_loads_the_intermediate()
    {
        var clock = TestCa.Clock();
        using var plugged = PluggedIntermediate(clock, out var files);
        files[CaCertsFolder.CaCertFile] = files[CaCertsFolder.CertChainFile]; // intermediate, then root

        using var loaded = CertificateAuthority.LoadFromPem(files, "test", clock);

        Assert.Equal(plugged.SigningCertificate.Thumbprint, loaded.SigningCertificate.Thumbprint);
        Assert.Equal(2, loaded.CertificateChain.Count);
    }

    [Fact]
    public void ReplaceSigner_swaps_the_signer_under_the_same_root_and_refuses_another_root()
    {
        var clock = TestCa.Clock();
        using var first = PluggedIntermediate(clock, out var files, out var root);
        using var authority = new RotatingCertificateAuthority(CertificateAuthority.LoadFromPem(files, "first", clock), null, clock);
        var bundle = authority.TrustBundle;
        var second = Intermediate(root, clock, out _);

        authority.ReplaceSigner(second);

        Assert.Same(second, authority.Current);
        Assert.Same(bundle, authority.TrustBundle);
        Assert.Throws<ArgumentException>(() => authority.ReplaceSigner(CertificateAuthority.CreateSelfSigned(timeProvider: clock)));
        root.Dispose();
    }

    private static CertificateAuthority PluggedIntermediate(TimeProvider clock, out Dictionary<string, string> files)
    {
        var ca = PluggedIntermediate(clock, out files, out var root);
        root.Dispose();
        return ca;
    }

    private static CertificateAuthority PluggedIntermediate(TimeProvider clock, out Dictionary<string, string> files, out CertificateAuthority root)
    {
        root = CertificateAuthority.CreateSelfSigned(timeProvider: clock);
        return Intermediate(root, clock, out files);
    }

    private static CertificateAuthority Intermediate(CertificateAuthority root, TimeProvider clock, out Dictionary<string, string> files)
    {
        var rootFiles = root.ExportPem();
        using var rootWithKey = X509Certificate2.CreateFromPem(rootFiles[CaCertsFolder.CaCertFile], rootFiles[CaCertsFolder.CaKeyFile]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=cluster.local, CN=Intermediate CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = clock.GetUtcNow();
        using var intermediate = request.Create(rootWithKey, now, now.AddDays(365), RandomNumberGenerator.GetBytes(12));
        files = new Dictionary<string, string>
        {
            [CaCertsFolder.CaCertFile] = intermediate.ExportCertificatePem(),
            [CaCertsFolder.CaKeyFile] = key.ExportPkcs8PrivateKeyPem(),
            [CaCertsFolder.RootCertFile] = root.RootCertificatePem,
            [CaCertsFolder.CertChainFile] = intermediate.ExportCertificatePem() + "\n" + root.RootCertificatePem,
        };
        return CertificateAuthority.LoadFromPem(files, "test", clock);
    }
}
