using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca.Tests;

/// <summary>
/// Issue 4 §5: a real mutual-TLS connection between Kestrel and HttpClient, both holding certificates this CA
/// issued. The server is configured as a host is (<c>AcceptWorkloadClientCertificates</c>, then the product's
/// <see cref="ClientCertificateAuthenticator"/> judges the caller), so a bug in the product's validation fails these
/// tests; the client, playing a workload, trusts only the CA's root and reads the server's SPIFFE ID itself.
/// </summary>
public sealed class MutualTlsTests : IDisposable
{
    private static readonly SpiffeId ServerId = SpiffeId.Parse("spiffe://td/ns/a/sa/server");
    private static readonly SpiffeId ClientId = SpiffeId.Parse("spiffe://td/ns/b/sa/client");

    private readonly CertificateAuthority _ca = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = "td" });
    private readonly CertificateAuthority _otherCa = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = "td" });

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }

    [Fact]
    public async Task Issued_certificates_establish_mutual_tls_and_each_side_sees_the_peers_spiffe_id()
    {
        using var serverCert = IssueWithKey(_ca, ServerId);
        using var clientCert = IssueWithKey(_ca, ClientId);
        await using var server = await StartServerAsync(serverCert, _ca);

        string? seenServerId = null;
        using var client = CreateClient(clientCert, _ca.RootCertificate, id => seenServerId = id);
        using var response = await client.GetAsync(server.Url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ClientId.ToString(), await response.Content.ReadAsStringAsync());
        Assert.Equal(ServerId.ToString(), seenServerId);
        Assert.Equal(ClientId.ToString(), server.SeenClientIds.Single());
    }

    [Fact]
    public async Task A_client_certificate_from_another_root_is_refused()
    {
        using var serverCert = IssueWithKey(_ca, ServerId);
        using var foreignCert = IssueWithKey(_otherCa, ClientId);
        await using var server = await StartServerAsync(serverCert, _ca);

        using var client = CreateClient(foreignCert, _ca.RootCertificate, _ => { });
        using var response = await client.GetAsync(server.Url);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(server.SeenClientIds);
        Assert.Contains("does not chain to this CA's trust bundle", Assert.Single(server.Refusals), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_client_certificate_is_refused()
    {
        using var serverCert = IssueWithKey(_ca, ServerId);
        using var clientCert = IssueWithKey(_ca, ClientId); // valid for one hour
        await using var server = await StartServerAsync(serverCert, _ca, new ShiftedClock(TimeSpan.FromHours(2)));

        using var client = CreateClient(clientCert, _ca.RootCertificate, _ => { });
        using var response = await client.GetAsync(server.Url);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(server.SeenClientIds);
        Assert.Contains("does not chain to this CA's trust bundle", Assert.Single(server.Refusals), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_refused()
    {
        using var serverCert = IssueWithKey(_ca, ServerId);
        await using var server = await StartServerAsync(serverCert, _ca);

        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var peer = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return VerifyPeer(peer, _ca.RootCertificate) is not null;
                },
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync(server.Url);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("no client certificate was presented", Assert.Single(server.Refusals));
    }

    [Fact]
    public async Task A_server_certificate_from_another_root_is_refused_by_the_client()
    {
        using var foreignServerCert = IssueWithKey(_otherCa, ServerId);
        using var clientCert = IssueWithKey(_ca, ClientId);
        await using var server = await StartServerAsync(foreignServerCert, _otherCa);

        using var client = CreateClient(clientCert, _ca.RootCertificate, _ => { });
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(server.Url));
        Assert.IsType<AuthenticationException>(ex.InnerException);
        Assert.Empty(server.SeenClientIds);
    }

    /// <summary>An issued leaf paired with the key its CSR was made from.</summary>
    private static X509Certificate2 IssueWithKey(CertificateAuthority ca, SpiffeId identity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = new WorkloadCertificateIssuer(ca).Issue(TestCa.Csr(key), identity, TimeSpan.FromHours(1));
        using var leaf = X509Certificate2.CreateFromPem(issued.CertificatePem);
        return leaf.CopyWithPrivateKey(key);
    }

    /// <summary>Trust only <paramref name="root"/>: custom root trust, no revocation, and a SPIFFE ID URI SAN.</summary>
    private static string? VerifyPeer(X509Certificate2? peer, X509Certificate2 root)
    {
        if (peer is null)
        {
            return null;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        if (!chain.Build(peer))
        {
            return null;
        }
        var uris = SubjectAlternativeNames.ReadUris(peer);
        return uris is [var uri] && SpiffeId.TryParse(uri, out var id) ? id.ToString() : null;
    }

    private static HttpClient CreateClient(X509Certificate2 clientCert, X509Certificate2 root, Action<string?> onServerId)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(clientCert, additionalCertificates: null, offline: true),
                // The server has no DNS name: its identity is the SPIFFE ID, checked here instead of the host name.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var peer = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    var id = VerifyPeer(peer, root);
                    onServerId(id);
                    return id is not null;
                },
            },
            PooledConnectionLifetime = TimeSpan.Zero,
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>A server configured as a host is: <c>AcceptWorkloadClientCertificates</c> at the TLS layer and the
    /// product's <see cref="ClientCertificateAuthenticator"/> judging the caller (403 with its reason when it refuses).</summary>
    private static async Task<MtlsServer> StartServerAsync(X509Certificate2 serverCert, CertificateAuthority ca, TimeProvider? clock = null)
    {
        var server = new MtlsServer();
        var authenticator = new ClientCertificateAuthenticator(ca, clock);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = serverCert;
            https.AcceptWorkloadClientCertificates();
        })));
        var app = builder.Build();
        app.MapGet("/", async (HttpContext context) =>
        {
            var result = await authenticator.AuthenticateAsync(context, context.RequestAborted);
            if (!result.Succeeded)
            {
                server.Refusals.Add(result.Failure!);
                return Results.Text(result.Failure, statusCode: StatusCodes.Status403Forbidden);
            }
            server.SeenClientIds.Add(result.Identity!.ToString()!);
            return Results.Text(result.Identity.ToString());
        });
        await app.StartAsync();
        server.App = app;
        server.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>The system clock moved by a fixed amount (a certificate's expiry without waiting for it).</summary>
    private sealed class ShiftedClock(TimeSpan by) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + by;
    }

    private sealed class MtlsServer : IAsyncDisposable
    {
        public WebApplication App { get; set; } = null!;

        public string Url { get; set; } = "";

        public System.Collections.Concurrent.ConcurrentBag<string> SeenClientIds { get; } = [];

        public System.Collections.Concurrent.ConcurrentBag<string> Refusals { get; } = [];

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
