using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Tests;

/// <summary>The cacerts folder on disk: owner-only modes, warnings about a readable key, and what a crash in the
/// middle of a write leaves behind (simulated by hand: partial file sets and stale temporary files).</summary>
public sealed class CaFolderOnDiskTests : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _folder = TestCa.TempFolder();

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private string PathOf(string file) => Path.Combine(_folder, file);

    /// <summary>A complete folder as a first start writes it, and the root's thumbprint.</summary>
    private string SaveNewRoot(CertificateKeyAlgorithm algorithm = CertificateKeyAlgorithm.EcdsaP256)
    {
        using var ca = CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = algorithm }, TestCa.Clock());
        ca.SaveToFolder(_folder);
        return ca.RootCertificate.Thumbprint;
    }

    [Fact]
    public void A_created_folder_is_owner_only_and_the_key_is_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var logger = new CapturingLogger();

        using var ca = CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock(), logger);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_folder));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(PathOf(CaCertsFolder.CaKeyFile)));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.DoesNotContain(Directory.EnumerateFiles(_folder), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void A_key_readable_by_others_is_loaded_with_a_warning_naming_the_file_its_mode_and_the_fix()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var thumbprint = SaveNewRoot();
        var key = PathOf(CaCertsFolder.CaKeyFile);
        File.SetUnixFileMode(key, OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var logger = new CapturingLogger();

        using var loaded = CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock(), logger);

        Assert.Equal(thumbprint, loaded.RootCertificate.Thumbprint);
        var warning = logger.Single(3030);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(key, warning.Message, StringComparison.Ordinal);
        Assert.Contains("0644", warning.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600 " + key, warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_owner_only_key_loads_without_a_warning()
    {
        SaveNewRoot();
        var logger = new CapturingLogger();

        using var loaded = CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock(), logger);

        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Two_writes_of_the_same_file_go_through_different_unpredictable_temporary_names()
    {
        var first = CaCertsFolder.TemporaryName(CaCertsFolder.CaKeyFile);
        var second = CaCertsFolder.TemporaryName(CaCertsFolder.CaKeyFile);

        Assert.NotEqual(first, second);
        Assert.Matches(@"^\.ca-key\.pem\.[0-9a-f]{32}\.tmp$", first);
        Assert.True(CaCertsFolder.IsTemporaryName(first));
        Assert.False(CaCertsFolder.IsTemporaryName(CaCertsFolder.CaKeyFile));
        Assert.False(CaCertsFolder.IsTemporaryName(".ca-key.pem.not-hex-not-hex-not-hex-not-hex.tmp"));
    }

    [Fact]
    public void A_write_never_replaces_an_existing_file_or_link_at_the_target_name()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        Directory.CreateDirectory(_folder);
        var elsewhere = PathOf("elsewhere.txt");
        File.WriteAllText(elsewhere, "untouched");
        File.CreateSymbolicLink(PathOf(CaCertsFolder.CertChainFile), elsewhere);

        Assert.ThrowsAny<IOException>(() => CaCertsFolder.Write(_folder, CaCertsFolder.CertChainFile, "chain", secret: false));

        Assert.Equal("untouched", File.ReadAllText(elsewhere));
        Assert.DoesNotContain(Directory.EnumerateFiles(_folder), f => CaCertsFolder.IsTemporaryName(Path.GetFileName(f)));
    }

    [Fact]
    public void Stale_temporary_files_are_deleted_on_load_and_other_files_are_kept()
    {
        var thumbprint = SaveNewRoot();
        var stale = PathOf(CaCertsFolder.TemporaryName(CaCertsFolder.CaKeyFile));
        var legacy = PathOf(CaCertsFolder.CaCertFile + ".tmp");
        var notOurs = PathOf("notes.tmp");
        File.WriteAllText(stale, "half a key");
        File.WriteAllText(legacy, "half a cert");
        File.WriteAllText(notOurs, "operator's");
        var logger = new CapturingLogger();

        using var loaded = CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock(), logger);

        Assert.Equal(thumbprint, loaded.RootCertificate.Thumbprint);
        Assert.False(File.Exists(stale), "our stale temporary key file was kept");
        Assert.False(File.Exists(legacy), "our stale temporary file of the earlier name was kept");
        Assert.True(File.Exists(notOurs), "a file that is not ours was deleted");
        Assert.Equal(2, logger.Entries.Count(e => e.EventId == 3031));
    }

    [Fact]
    public void A_folder_holding_only_stale_temporary_files_is_treated_as_empty_and_gets_a_new_root()
    {
        Directory.CreateDirectory(_folder);
        var stale = PathOf(CaCertsFolder.TemporaryName(CaCertsFolder.CaKeyFile));
        File.WriteAllText(stale, "-----BEGIN PRIVATE KEY-----\nhalf");

        using var created = CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock());

        Assert.False(File.Exists(stale));
        foreach (var file in CaCertsFolder.AllFiles)
        {
            Assert.True(File.Exists(PathOf(file)), file);
        }
        using var reloaded = CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock());
        Assert.Equal(created.RootCertificate.Thumbprint, reloaded.RootCertificate.Thumbprint);
    }

    [Theory]
    [InlineData(false, CertificateKeyAlgorithm.EcdsaP256)] // crash after the chain was renamed into place
    [InlineData(true, CertificateKeyAlgorithm.EcdsaP256)] // crash after the root was renamed into place, before the chain
    [InlineData(true, CertificateKeyAlgorithm.EcdsaP384)]
    [InlineData(false, CertificateKeyAlgorithm.Rsa)]
    public void A_first_start_interrupted_before_ca_cert_is_recovered_with_a_warning(bool chainMissingToo, CertificateKeyAlgorithm algorithm)
    {
        var thumbprint = SaveNewRoot(algorithm);
        File.Delete(PathOf(CaCertsFolder.CaCertFile));
        if (chainMissingToo)
        {
            File.Delete(PathOf(CaCertsFolder.CertChainFile));
        }
        File.WriteAllText(PathOf(CaCertsFolder.TemporaryName(CaCertsFolder.CaCertFile)), "-----BEGIN CERT");
        var logger = new CapturingLogger();

        using var loaded = CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock(), logger);

        Assert.Equal(thumbprint, loaded.RootCertificate.Thumbprint);
        Assert.Equal(File.ReadAllText(PathOf(CaCertsFolder.RootCertFile)), File.ReadAllText(PathOf(CaCertsFolder.CaCertFile)));
        Assert.True(File.Exists(PathOf(CaCertsFolder.CertChainFile)));
        var warning = logger.Single(3032);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(CaCertsFolder.CaCertFile, warning.Message, StringComparison.Ordinal);
        Assert.Equal(chainMissingToo, warning.Message.Contains(CaCertsFolder.CertChainFile, StringComparison.Ordinal));
        using var again = CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock());
        Assert.Equal(thumbprint, again.RootCertificate.Thumbprint);
    }

    [Fact]
    public void A_missing_ca_cert_is_not_recovered_when_the_key_is_not_the_roots()
    {
        SaveNewRoot();
        File.Delete(PathOf(CaCertsFolder.CaCertFile));
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.Delete(PathOf(CaCertsFolder.CaKeyFile));
        File.WriteAllText(PathOf(CaCertsFolder.CaKeyFile), other.ExportPkcs8PrivateKeyPem());

        var ex = Assert.Throws<InvalidDataException>(() => CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock()));

        Assert.Contains("has no ca-cert.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ca-key.pem is not the key of root-cert.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("backup", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf(CaCertsFolder.CaCertFile)), "ca-cert.pem was written for a key that is not the root's");
    }

    [Fact]
    public void A_missing_ca_cert_is_not_recovered_when_the_root_is_not_self_signed()
    {
        // A plugged intermediate's folder that lost ca-cert.pem: root-cert.pem is another CA's root, the key the
        // intermediate's. Writing the root as ca-cert.pem would be wrong.
        using var root = CertificateAuthority.CreateSelfSigned(null, TestCa.Clock());
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Intermediate", intermediateKey, HashAlgorithmName.SHA256);
        using var intermediate = request.Create(root.RootCertificate.SubjectName, root.SignatureGenerator, TestCa.Start, TestCa.Start.AddDays(30), [7]);
        Directory.CreateDirectory(_folder);
        File.WriteAllText(PathOf(CaCertsFolder.RootCertFile), intermediate.ExportCertificatePem()); // issued by another
        File.WriteAllText(PathOf(CaCertsFolder.CaKeyFile), intermediateKey.ExportPkcs8PrivateKeyPem());

        var ex = Assert.Throws<InvalidDataException>(() => CertificateAuthority.LoadFromFolder(_folder, TestCa.Clock()));

        Assert.Contains("root-cert.pem is not self-signed", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf(CaCertsFolder.CaCertFile)));
    }

    [Fact]
    public void A_certificate_naming_itself_as_issuer_but_signed_by_another_key_is_not_self_signed()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Same", key, HashAlgorithmName.SHA256);
        using var genuine = request.CreateSelfSigned(TestCa.Start, TestCa.Start.AddDays(1));
        using var forged = request.Create(new X500DistinguishedName("CN=Same"), X509SignatureGenerator.CreateForECDsa(other),
            TestCa.Start, TestCa.Start.AddDays(1), [9]);

        Assert.True(Internal.SelfSignature.Verifies(genuine));
        Assert.False(Internal.SelfSignature.Verifies(forged));
    }

    [Theory]
    [InlineData(new[] { CaCertsFolder.CaKeyFile }, "ca-key.pem", "ca-cert.pem, root-cert.pem")]
    [InlineData(new[] { CaCertsFolder.CaKeyFile, CaCertsFolder.RootCertFile, CaCertsFolder.CertChainFile }, "ca-key.pem, root-cert.pem, cert-chain.pem", "ca-cert.pem")]
    [InlineData(new[] { CaCertsFolder.CaCertFile, CaCertsFolder.RootCertFile, CaCertsFolder.CertChainFile }, "ca-cert.pem, root-cert.pem, cert-chain.pem", "ca-key.pem")]
    [InlineData(new[] { CaCertsFolder.CertChainFile }, "cert-chain.pem", "ca-cert.pem, ca-key.pem, root-cert.pem")]
    public void Any_other_partial_set_is_refused_listing_present_and_missing_files_and_what_to_do(string[] kept, string present, string missing)
    {
        SaveNewRoot();
        foreach (var file in CaCertsFolder.AllFiles.Except(kept))
        {
            File.Delete(PathOf(file));
        }
        if (kept.Contains(CaCertsFolder.RootCertFile) && kept.Contains(CaCertsFolder.CaKeyFile))
        {
            // A key that is not the root's: not our interrupted first start, so no recovery.
            using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            File.Delete(PathOf(CaCertsFolder.CaKeyFile));
            File.WriteAllText(PathOf(CaCertsFolder.CaKeyFile), other.ExportPkcs8PrivateKeyPem());
        }
        var before = Directory.EnumerateFiles(_folder).Order().ToList();

        var ex = Assert.Throws<InvalidDataException>(() => CertificateAuthority.LoadOrCreate(_folder, null, TestCa.Clock()));

        Assert.Contains($"it has {present} but has no {missing}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Restore the missing files from a backup", ex.Message, StringComparison.Ordinal);
        Assert.Contains("if nothing trusts this root yet, remove the CA files", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.EnumerateFiles(_folder).Order().ToList()); // nothing written or removed
    }
}
