using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca.Tests;

public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly string _folder = TestCa.TempFolder();

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static ECDsa P256() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    [Fact]
    public void Self_signed_root_is_an_ecdsa_p256_ca_for_the_trust_domain()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(new() { TrustDomain = "mesh.example" }, TestCa.Clock());

        var root = ca.RootCertificate;
        Assert.Same(root, ca.SigningCertificate);
        Assert.Equal(root.Subject, root.Issuer);
        Assert.Contains("O=mesh.example", root.Subject, StringComparison.Ordinal);
        using (var key = root.GetECDsaPublicKey())
        {
            Assert.Equal(256, key!.KeySize);
        }
        var constraints = root.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = root.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.Equal(TestCa.Start, new DateTimeOffset(root.NotBefore.ToUniversalTime()));
        Assert.Equal(TestCa.Start.AddDays(3650), new DateTimeOffset(root.NotAfter.ToUniversalTime()));
        Assert.Single(ca.CertificateChainPem);
    }

    [Fact]
    public void Rsa_root_is_supported_and_small_rsa_is_refused()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = CertificateKeyAlgorithm.Rsa }, TestCa.Clock());
        using (var key = ca.RootCertificate.GetRSAPublicKey())
        {
            Assert.Equal(2048, key!.KeySize);
        }

        var ex = Assert.Throws<ArgumentException>(() => CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = CertificateKeyAlgorithm.Rsa, RsaKeySize = 1024 }));
        Assert.Contains("RsaKeySize must be at least 2048", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void First_start_creates_and_persists_the_root_and_the_next_start_loads_the_same_root()
    {
        string thumbprint;
        using (var created = CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock()))
        {
            thumbprint = created.RootCertificate.Thumbprint;
        }

        foreach (var file in new[] { CaCertsFolder.CaCertFile, CaCertsFolder.CaKeyFile, CaCertsFolder.RootCertFile, CaCertsFolder.CertChainFile })
        {
            Assert.True(File.Exists(Path.Combine(_folder, file)), file);
        }
        Assert.Contains("BEGIN PRIVATE KEY", File.ReadAllText(Path.Combine(_folder, CaCertsFolder.CaKeyFile)), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_folder, CaCertsFolder.CaKeyFile)));
        }

        using var loaded = CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock());
        Assert.Equal(thumbprint, loaded.RootCertificate.Thumbprint);
        Assert.Single(loaded.CertificateChain);

        // The reloaded key signs certificates that chain to the persisted root.
        var issued = new WorkloadCertificateIssuer(loaded, null, TestCa.Clock()).Issue(TestCa.Csr(P256()), SpiffeId.ForIstio("cluster.local", "a", "b"));
        using var chain = TestCa.Verify(issued.CertificateChainPem, TestCa.Start, File.ReadAllText(Path.Combine(_folder, CaCertsFolder.RootCertFile)));
    }

    [Fact]
    public void Saving_over_an_existing_ca_is_refused()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(null, TestCa.Clock());
        ca.SaveToFolder(_folder);

        Assert.Throws<IOException>(() => ca.SaveToFolder(_folder));
    }

    [Fact]
    public void Plugged_intermediate_signs_and_the_chain_runs_leaf_intermediate_root()
    {
        var clock = TestCa.Clock();
        using var root = CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = CertificateKeyAlgorithm.EcdsaP384 }, clock);
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=cluster.local, CN=Intermediate CA", intermediateKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var intermediate = request.Create(root.RootCertificate.SubjectName, root.SignatureGenerator, TestCa.Start, TestCa.Start.AddDays(365), [1, 2, 3]);

        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.CaCertFile), intermediate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.CaKeyFile), intermediateKey.ExportECPrivateKeyPem()); // SEC1, as openssl writes
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.RootCertFile), root.RootCertificatePem);
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.CertChainFile), intermediate.ExportCertificatePem() + "\n" + root.RootCertificatePem);

        using var plugged = CertificateAuthority.LoadFromFolder(_folder, clock);
        Assert.Equal(intermediate.Thumbprint, plugged.SigningCertificate.Thumbprint);
        Assert.Equal(root.RootCertificate.Thumbprint, plugged.RootCertificate.Thumbprint);

        var issued = new WorkloadCertificateIssuer(plugged, null, clock).Issue(TestCa.Csr(P256()), SpiffeId.ForIstio("cluster.local", "ns1", "sa1"));
        Assert.Equal(3, issued.CertificateChainPem.Count);
        Assert.Equal(root.RootCertificatePem, issued.RootCertificatePem);
        using var chain = TestCa.Verify(issued.CertificateChainPem, clock.GetUtcNow());
        Assert.Equal(3, chain.ChainElements.Count);
    }

    [Fact]
    public void Plugged_folder_without_a_chain_file_still_chains_to_the_root()
    {
        using var root = CertificateAuthority.CreateSelfSigned(null, TestCa.Clock());
        Directory.CreateDirectory(_folder);
        root.SaveToFolder(_folder);
        File.Delete(Path.Combine(_folder, CaCertsFolder.CertChainFile));

        using var loaded = CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock());
        Assert.Single(loaded.CertificateChain);
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(null, TestCa.Clock());
        ca.SaveToFolder(_folder);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.CaKeyFile), other.ExportPkcs8PrivateKeyPem());

        var ex = Assert.Throws<InvalidDataException>(() => CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock()));
        Assert.Contains("ca-key.pem", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_partial_folder_is_refused_rather_than_overwritten()
    {
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.RootCertFile), "x");

        var ex = Assert.Throws<InvalidDataException>(() => CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock()));
        Assert.Contains("has no ca-cert.pem", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_ca_certificate_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256);
        using var leaf = request.CreateSelfSigned(TestCa.Start, TestCa.Start.AddDays(1));
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.CaCertFile), leaf.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.CaKeyFile), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_folder, CaCertsFolder.RootCertFile), leaf.ExportCertificatePem());

        var ex = Assert.Throws<InvalidDataException>(() => CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock()));
        Assert.Contains("not a CA certificate", ex.Message, StringComparison.Ordinal);
    }
}
