using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace XdsServer.Ca.Tests;

public sealed class CallerAuthenticationTests
{
    private static readonly SpiffeId Web = SpiffeId.ForIstio("cluster.local", "default", "web");

    [Fact]
    public void A_token_file_with_a_bad_entry_names_the_file_and_the_entry_but_not_the_token()
    {
        var file = Path.Combine(Path.GetTempPath(), $"tokens-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"good-token": "spiffe://cluster.local/ns/a/sa/b", "secret-token-9": "http://not-spiffe"}""");
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => StaticTokenReviewer.LoadFromFile(file));
            Assert.Contains(file, error.Message, StringComparison.Ordinal);
            Assert.Contains("entry 2", error.Message, StringComparison.Ordinal);
            Assert.Contains("http://not-spiffe", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-token-9", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_token_file_that_is_not_an_object_is_refused()
    {
        var file = Path.Combine(Path.GetTempPath(), $"tokens-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """["a"]""");
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => StaticTokenReviewer.LoadFromFile(file));
            Assert.Contains(file, error.Message, StringComparison.Ordinal);
            Assert.Contains("JSON object", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Bearer good", true)]
    [InlineData("bearer good", true)]
    [InlineData("Bearer bad", false)]
    [InlineData("Basic Z29vZA==", false)]
    [InlineData("Bearer ", false)]
    public async Task The_bearer_authenticator_asks_the_reviewer(string header, bool accepted)
    {
        var authenticator = new BearerTokenAuthenticator([new StaticTokenReviewer([new("good", Web)])]);
        var context = new DefaultHttpContext();
        context.Connection.LocalIpAddress = System.Net.IPAddress.Loopback;
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        context.Request.Headers.Authorization = header;

        var result = await authenticator.AuthenticateAsync(context, CancellationToken.None);

        Assert.Equal(accepted, result.Succeeded);
        Assert.Equal(accepted ? Web : null, result.Identity);
        Assert.DoesNotContain("good", result.Failure ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bearer_token_over_cleartext_from_another_machine_proves_nothing_but_over_tls_it_does()
    {
        var authenticator = new BearerTokenAuthenticator([new StaticTokenReviewer([new("good", Web)])]);
        var context = new DefaultHttpContext();
        context.Connection.LocalIpAddress = System.Net.IPAddress.Parse("10.0.0.1");
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("10.0.0.9");
        context.Request.Headers.Authorization = "Bearer good";

        var cleartext = await authenticator.AuthenticateAsync(context, CancellationToken.None);
        Assert.False(cleartext.Succeeded);
        Assert.Equal("a bearer token is not accepted here: the connection from 10.0.0.9 is cleartext HTTP; serve TLS (or, where the path "
            + "is encrypted otherwise, set XdsServerOptions.AllowInsecureTransport)", cleartext.Failure);

        // Neither a scheme (forwarded headers set it) nor a TLS connection feature (certificate forwarding sets one)
        // is a TLS connection; the handshake feature, which only the server's TLS layer sets, is.
        context.Request.Scheme = "https";
        context.Features.Set<Microsoft.AspNetCore.Http.Features.ITlsConnectionFeature>(new Microsoft.AspNetCore.Http.Features.TlsConnectionFeature());
        Assert.False((await authenticator.AuthenticateAsync(context, CancellationToken.None)).Succeeded);
        context.Features.Set<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>(new Handshake());
        Assert.Equal(Web, (await authenticator.AuthenticateAsync(context, CancellationToken.None)).Identity);
    }

    [Fact]
    public async Task A_forwarded_client_certificate_proves_nothing()
    {
        // Certificate forwarding middleware puts a certificate from a request header on a TLS connection feature;
        // anyone who has seen an SVID could send it. Only the certificate of the connection's own handshake counts.
        var clock = TestCa.Clock();
        using var authority = CertificateAuthority.CreateSelfSigned(timeProvider: clock);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var issued = new WorkloadCertificateIssuer(authority, timeProvider: clock).Issue(TestCa.Csr(key), Web);
        using var stolen = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(issued.CertificatePem);
        var context = new DefaultHttpContext();
        context.Request.Scheme = "https";
        context.Features.Set<Microsoft.AspNetCore.Http.Features.ITlsConnectionFeature>(
            new Microsoft.AspNetCore.Http.Features.TlsConnectionFeature { ClientCertificate = stolen });

        var result = await new ClientCertificateAuthenticator(authority, clock).AuthenticateAsync(context, CancellationToken.None);

        Assert.Equal("the connection is not TLS", result.Failure);
        Assert.True(new ClientCertificateAuthenticator(authority, clock).Authenticate(stolen).Succeeded, "the certificate itself is valid");
    }

    [Fact]
    public void A_client_certificate_issued_by_the_CA_proves_its_SPIFFE_ID()
    {
        var clock = TestCa.Clock();
        using var authority = CertificateAuthority.CreateSelfSigned(timeProvider: clock);
        using var other = CertificateAuthority.CreateSelfSigned(timeProvider: clock);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = TestCa.Csr(key);
        var mine = new WorkloadCertificateIssuer(authority, timeProvider: clock).Issue(csr, Web);
        var foreign = new WorkloadCertificateIssuer(other, timeProvider: clock).Issue(csr, Web);
        var authenticator = new ClientCertificateAuthenticator(authority, clock);

        using var mineCert = TestCa.Load(mine.CertificatePem);
        using var foreignCert = TestCa.Load(foreign.CertificatePem);
        var accepted = authenticator.Authenticate(mineCert);
        var refused = authenticator.Authenticate(foreignCert);

        Assert.Equal(Web, accepted.Identity);
        Assert.False(refused.Succeeded);
        Assert.Contains("does not chain", refused.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_certificate_without_a_URI_SAN_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=plain", key, HashAlgorithmName.SHA256);
        using var plain = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        using var authority = CertificateAuthority.CreateSelfSigned();

        var result = new ClientCertificateAuthenticator(authority).Authenticate(plain);

        Assert.False(result.Succeeded);
        Assert.Contains("0 URI SANs", result.Failure, StringComparison.Ordinal);
    }

#pragma warning disable SYSLIB0058 // the handshake feature's algorithm properties are obsolete but still abstract
    private sealed class Handshake : Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature
    {
        public System.Security.Authentication.SslProtocols Protocol => System.Security.Authentication.SslProtocols.Tls13;

        public System.Security.Authentication.CipherAlgorithmType CipherAlgorithm => default;

        public int CipherStrength => 0;

        public System.Security.Authentication.HashAlgorithmType HashAlgorithm => default;

        public int HashStrength => 0;

        public System.Security.Authentication.ExchangeAlgorithmType KeyExchangeAlgorithm => default;

        public int KeyExchangeStrength => 0;
    }
#pragma warning restore SYSLIB0058
}
