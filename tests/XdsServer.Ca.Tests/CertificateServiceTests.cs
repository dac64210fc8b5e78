using XdsServer.Testing;
using System.Security.Cryptography;
using Grpc.Core;
using XdsServer.Ca.Istio;

namespace XdsServer.Ca.Tests;

/// <summary>istio.v1.auth.IstioCertificateService over real gRPC on loopback, checked with the real openssl tool.</summary>
public sealed class CertificateServiceTests(CaServer server) : IClassFixture<CaServer>, IDisposable
{
    private readonly string _work = Directory.CreateDirectory(Path.Combine(server.Folder, Guid.NewGuid().ToString("N"))).FullName;

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private static string P256Csr()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return TestCa.Csr(key, commonName: "someone-else");
    }

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(10);

    private async Task<string> OpenSslCsrAsync(string newKey, params string[] extra)
    {
        await OpenSsl.RunAsync(_work, ["req", "-new", "-newkey", newKey, .. extra, "-nodes", "-keyout", "key.pem", "-out", "csr.pem",
            "-subj", "/CN=admin/O=evil", "-addext", "subjectAltName=URI:spiffe://cluster.local/ns/kube-system/sa/admin"]);
        return await File.ReadAllTextAsync(Path.Combine(_work, "csr.pem"));
    }

    [Fact]
    public async Task An_openssl_CSR_is_signed_for_the_token_identity_and_the_chain_verifies_with_openssl()
    {
        var csr = await OpenSslCsrAsync("ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");

        var response = await server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr, ValidityDuration = 3600 }, Bearer(CaServer.WebToken), Deadline);

        Assert.True(response.CertChain.Count >= 2, $"chain has {response.CertChain.Count} certificates");
        Assert.All(response.CertChain, pem => Assert.Single(pem.Split("-----BEGIN CERTIFICATE-----")[1..]));
        var rootOnDisk = await File.ReadAllTextAsync(Path.Combine(server.CaFolder, "root-cert.pem"));
        Assert.Equal(rootOnDisk.Trim(), response.CertChain[^1].Trim()); // root last
        await File.WriteAllTextAsync(Path.Combine(_work, "leaf.pem"), response.CertChain[0]);
        await File.WriteAllTextAsync(Path.Combine(_work, "untrusted.pem"), string.Join('\n', response.CertChain.Skip(1)));

        var verify = await OpenSsl.RunAsync(_work, "verify", "-CAfile", Path.Combine(server.CaFolder, "root-cert.pem"),
            "-untrusted", "untrusted.pem", "leaf.pem");
        Assert.Contains("leaf.pem: OK", verify, StringComparison.Ordinal);

        var text = await OpenSsl.RunAsync(_work, "x509", "-in", "leaf.pem", "-noout", "-text");
        Assert.Contains("URI:" + CaServer.WebIdentity, text, StringComparison.Ordinal);
        Assert.DoesNotContain("kube-system", text, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", text, StringComparison.Ordinal);
        Assert.Contains("CA:FALSE", text, StringComparison.Ordinal);
        Assert.Contains("Digital Signature", text, StringComparison.Ordinal);
        Assert.Contains("TLS Web Server Authentication", text, StringComparison.Ordinal);
        Assert.Contains("TLS Web Client Authentication", text, StringComparison.Ordinal);

        // The certificate carries the CSR's key: openssl's private key matches the issued public key.
        var keyPub = await OpenSsl.RunAsync(_work, "pkey", "-in", "key.pem", "-pubout");
        var certPub = await OpenSsl.RunAsync(_work, "x509", "-in", "leaf.pem", "-noout", "-pubkey");
        Assert.Equal(keyPub.Trim(), certPub.Trim());

        using var leaf = TestCa.Load(response.CertChain[0]);
        var lifetime = leaf.NotAfter.ToUniversalTime() - DateTime.UtcNow;
        Assert.InRange(lifetime, TimeSpan.FromMinutes(58), TimeSpan.FromMinutes(61));
    }

    [Fact]
    public async Task A_lifetime_beyond_the_maximum_is_clamped()
    {
        var csr = P256Csr();

        var response = await server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr, ValidityDuration = (long)TimeSpan.FromDays(30).TotalSeconds },
            Bearer(CaServer.WebToken), Deadline);

        await File.WriteAllTextAsync(Path.Combine(_work, "leaf.pem"), response.CertChain[0]);
        var endDate = await OpenSsl.RunAsync(_work, "x509", "-in", "leaf.pem", "-noout", "-enddate");
        using var leaf = TestCa.Load(response.CertChain[0]);
        var lifetime = leaf.NotAfter.ToUniversalTime() - DateTime.UtcNow;
        Assert.True(lifetime <= CaServer.MaxLifetime && lifetime > CaServer.MaxLifetime - TimeSpan.FromMinutes(1),
            $"lifetime {lifetime} ({endDate.Trim()}) is not clamped to {CaServer.MaxLifetime}");
    }

    [Fact]
    public async Task Garbage_is_refused_with_invalid_argument_about_the_PEM()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = "this is not a certificate request" }, Bearer(CaServer.WebToken), Deadline).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("PEM", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_RSA_1024_CSR_from_openssl_is_refused_naming_the_weak_key()
    {
        var csr = await OpenSslCsrAsync("rsa:1024");

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr }, Bearer(CaServer.WebToken), Deadline).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("RSA-1024", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_openssl_CSR_altered_after_signing_is_refused_naming_the_signature()
    {
        var csr = await OpenSslCsrAsync("ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");
        // Rename the subject's organisation inside the signed part: still a well-formed CSR, no longer its signer's.
        var fields = PemEncoding.Find(csr);
        var der = Convert.FromBase64String(csr[fields.Base64Data]);
        var at = der.AsSpan().IndexOf("evil"u8);
        Assert.True(at > 0, "the subject is in the CSR");
        "good"u8.CopyTo(der.AsSpan(at));
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = tampered }, Bearer(CaServer.WebToken), Deadline).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("signature does not verify", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_token_the_caller_is_unauthenticated()
    {
        var csr = P256Csr();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr }, deadline: Deadline).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("no authorization header", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("client certificate", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_token_is_unauthenticated_and_never_echoed()
    {
        const string Token = "guessed-token-5521";
        var csr = P256Csr();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr }, Bearer(Token), Deadline).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("not in the static token file", error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_for_another_trust_domain_is_permission_denied()
    {
        var csr = P256Csr();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr }, Bearer("tok-foreign"), Deadline).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("example.org", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issued_and_refused_requests_are_counted_on_the_XdsServer_Ca_meter()
    {
        using var counts = new HostMetrics(server.Services, "XdsServer.Ca", tag: "reason");
        var csr = P256Csr();

        await server.Client.CreateCertificateAsync(new IstioCertificateRequest { Csr = csr }, Bearer(CaServer.WebToken), Deadline);
        await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = "junk" }, Bearer(CaServer.WebToken), Deadline).ResponseAsync);
        await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = csr }, deadline: Deadline).ResponseAsync);

        // The fixture's host is shared by this class's tests, which run one after another: these are ours alone.
        Assert.Equal(1, counts["xds.ca.certificates.issued"]);
        Assert.Equal(1, counts["xds.ca.requests.refused/MalformedPem"]);
        Assert.Equal(1, counts["xds.ca.requests.refused/Unauthenticated"]);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
