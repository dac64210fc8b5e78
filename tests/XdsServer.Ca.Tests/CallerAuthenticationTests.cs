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
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("10.0.0.9");
        context.Request.Headers.Authorization = "Bearer good";

        var cleartext = await authenticator.AuthenticateAsync(context, CancellationToken.None);
        Assert.False(cleartext.Succeeded);
        Assert.Equal("a bearer token is not accepted here: the connection from 10.0.0.9 is cleartext HTTP; serve TLS (or, where the path "
            + "is encrypted otherwise, set XdsServerOptions.AllowInsecureTransport)", cleartext.Failure);

        context.Request.Scheme = "https"; // a scheme (forwarded headers can set it) is not a TLS connection
        Assert.False((await authenticator.AuthenticateAsync(context, CancellationToken.None)).Succeeded);
        context.Features.Set<Microsoft.AspNetCore.Http.Features.ITlsConnectionFeature>(new Microsoft.AspNetCore.Http.Features.TlsConnectionFeature());
        Assert.Equal(Web, (await authenticator.AuthenticateAsync(context, CancellationToken.None)).Identity);
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
}
