using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Cache;
using XdsServer.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>
/// An xDS server over TLS on a free loopback port with the CA and workload secrets wired by DI, the way a host
/// does it: <c>AddCertificateAuthority(...).AddWorkloadSecrets()</c>. Client certificates are optional at the TLS
/// layer (the authenticators judge them), so one server takes mTLS, bearer-token and anonymous streams. Every
/// node is served the "mesh" group of the default cache (one cluster) plus, through the secrets cache, the
/// secrets of the identity it proved.
/// </summary>
public sealed class WorkloadSecretsServer : IAsyncDisposable
{
    public const string TrustDomain = "cluster.local";
    public const string BetaToken = "tok-beta-51c2";
    public static readonly SpiffeId Alpha = SpiffeId.ForIstio(TrustDomain, "a", "alpha");
    public static readonly SpiffeId Beta = SpiffeId.ForIstio(TrustDomain, "b", "beta");

    private readonly List<IDisposable> _owned = [];
    private WebApplication _app = null!;

    private WorkloadSecretsServer()
    {
    }

    public string Folder { get; } = TestCa.TempFolder();

    public Uri Address { get; private set; } = null!;

    /// <summary>The CA the server loaded from <see cref="Folder"/> (the test's own copy signs client certificates).</summary>
    public CertificateAuthority Ca { get; private set; } = null!;

    public RotatingCertificateAuthority Authority => _app.Services.GetRequiredService<RotatingCertificateAuthority>();

    /// <param name="trustBundlePath">Where the SPIFFE bundle is served; null for the default.</param>
    /// <param name="followClientCertificateUrls">Configure TLS with the platform's defaults instead of
    /// <c>AcceptWorkloadClientCertificates</c> (a control: its chain building follows a client certificate's URLs).</param>
    /// <param name="cleartext">Serve HTTP/2 cleartext instead of TLS.</param>
    /// <param name="xds">Changes the xDS server's options.</param>
    /// <param name="ca">Changes the CA host options.</param>
    /// <param name="services">Registers more services (a token reviewer, say).</param>
    public static async Task<WorkloadSecretsServer> StartAsync(string? trustBundlePath = null, bool followClientCertificateUrls = false,
        bool cleartext = false, Action<XdsServerOptions>? xds = null, Action<CertificateAuthorityHostOptions>? ca = null,
        Action<IServiceCollection>? services = null)
    {
        var server = new WorkloadSecretsServer();
        await server.InitializeAsync(trustBundlePath, followClientCertificateUrls, cleartext, xds, ca, services);
        return server;
    }

    /// <summary>The static token file the server watches (it maps <see cref="BetaToken"/> to <see cref="Beta"/>).</summary>
    public string TokenFile => Path.Combine(Folder, "tokens.json");

    /// <summary>A node claiming <paramref name="identity"/> the way istio-agent does (NAMESPACE and SERVICE_ACCOUNT metadata).</summary>
    public static Node NodeClaiming(SpiffeId identity, string id)
    {
        var segments = identity.Path.Split('/');
        var node = new Node { Id = id, Cluster = "test", Metadata = new Struct() };
        node.Metadata.Fields[WorkloadIdentityNodeHash.NamespaceKey] = Value.ForString(segments[2]);
        node.Metadata.Fields[WorkloadIdentityNodeHash.ServiceAccountKey] = Value.ForString(segments[4]);
        return node;
    }

    /// <summary>A client certificate for <paramref name="identity"/> from <paramref name="ca"/> (the server's CA when null), with its key.</summary>
    public X509Certificate2 ClientCertificate(SpiffeId identity, CertificateAuthority? ca = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = new WorkloadCertificateIssuer(ca ?? Ca).Issue(TestCa.Csr(key), identity, TimeSpan.FromHours(1));
        using var leaf = X509Certificate2.CreateFromPem(issued.CertificatePem);
        var withKey = leaf.CopyWithPrivateKey(key);
        _owned.Add(withKey);
        return withKey;
    }

    /// <summary>Channel options for a TLS connection trusting the server's root, with an optional client certificate.</summary>
    public GrpcChannelOptions Channel(X509Certificate2? clientCertificate = null) => new()
    {
        MaxReceiveMessageSize = null,
        DisposeHttpClient = true,
        HttpHandler = Handler(clientCertificate),
    };

    public HttpMessageHandler Handler(X509Certificate2? clientCertificate = null)
    {
        var root = X509CertificateLoader.LoadCertificate(Ca.RootCertificate.RawData);
        _owned.Add(root);
        return new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = clientCertificate is null ? null
                    : SslStreamCertificateContext.Create(clientCertificate, additionalCertificates: null, offline: true),
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }
                    using var peer = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    return chain.Build(peer);
                },
            },
        };
    }

    public static Grpc.Core.Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public async ValueTask DisposeAsync()
    {
        await LoopbackHost.StopAsync(_app);
        Ca.Dispose();
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task InitializeAsync(string? trustBundlePath, bool followClientCertificateUrls, bool cleartext,
        Action<XdsServerOptions>? xds, Action<CertificateAuthorityHostOptions>? ca, Action<IServiceCollection>? more)
    {
        var caFolder = Path.Combine(Folder, "cacerts");
        Ca = CertificateAuthority.LoadOrCreate(caFolder, new CertificateAuthorityOptions { TrustDomain = TrustDomain });
        var tokenFile = TokenFile;
        await File.WriteAllTextAsync(tokenFile, JsonSerializer.Serialize(new Dictionary<string, string> { [BetaToken] = Beta.ToString() }));
        var serverCertificate = ClientCertificate(SpiffeId.ForIstio(TrustDomain, "xds-system", "xds-server"));

        (_app, var address) = await LoopbackHost.StartAsync(
            listen => (cleartext ? LoopbackHost.Http2Cleartext : l => l.UseHttps(https =>
            {
                https.ServerCertificate = serverCertificate;
                if (followClientCertificateUrls)
                {
                    // The platform's defaults: what a host gets without AcceptWorkloadClientCertificates.
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.AllowAnyClientCertificate();
                }
                else
                {
                    https.AcceptWorkloadClientCertificates(); // the caller authenticators check the chain
                }
            }))(listen),
            services =>
            {
                more?.Invoke(services);
                services.AddXdsServer(xds)
                .AddSnapshotCache(o => o.NodeHash = new NodeHash(_ => "mesh"))
                .AddCertificateAuthority(o =>
                {
                    o.Folder = caFolder;
                    o.Authority = new CertificateAuthorityOptions { TrustDomain = TrustDomain };
                    o.StaticTokenFile = tokenFile;
                    ca?.Invoke(o);
                })
                .AddWorkloadSecrets();
            },
            app =>
            {
                app.MapXdsServer();
                app.MapCertificateAuthority();
                app.MapTrustBundle(trustBundlePath);
            });
        Address = address;
        _app.Services.GetRequiredService<SnapshotCache>().SetSnapshot("mesh",
            Snapshot.CreateBuilder().Set(Fixtures.Cluster("backend", secret: WorkloadSecretPublisher.DefaultSecretName)).Set(Fixtures.Endpoints("backend", 8080)).Build());
    }
}
