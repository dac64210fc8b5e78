using XdsServer.Examples;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MeshHost.Demo;
using MeshHost.Generation;
using MeshHost.Push;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using XdsServer;
using XdsServer.Ca;

namespace MeshHost.Hosting;

/// <summary>One endpoint the host listens on, with the address it is bound to (the system's port for port 0).</summary>
/// <param name="Url">The URL as given on the command line.</param>
/// <param name="Address">The bound address, e.g. <c>http://127.0.0.1:15010</c>.</param>
/// <param name="Grpc">Whether it serves gRPC (HTTP/2) rather than HTTP/1.1.</param>
/// <param name="Serves">What it serves, for the log.</param>
public sealed record BoundEndpoint(ListenUrl Url, Uri Address, bool Grpc, string Serves);

/// <summary>What a test (or another host) may change about how the MeshHost is put together; the command line says
/// everything else.</summary>
public sealed record MeshHostSettings
{
    /// <summary>Replaces the console logging of the command-line host (tests capture logs).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>The push pipeline's options; the defaults when null.</summary>
    public MeshPublisherOptions? Publisher { get; init; }

    /// <summary>Runs on the built application before any endpoint is mapped: middleware a test adds (for example one
    /// that makes callers look remote, since a test may reach only loopback addresses).</summary>
    public Action<WebApplication>? ConfigureApplication { get; init; }
}

/// <summary>The MeshHost could not start; <see cref="ExitCode"/> is what the process exits with (2: bad arguments,
/// 1: the environment).</summary>
public sealed class MeshHostStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MeshHostStartException(string message, int exitCode = 1, Exception? inner = null)
        : base(message, inner) => ExitCode = exitCode;

    /// <summary>Creates an exception with exit code 1.</summary>
    public MeshHostStartException()
        : this("the MeshHost could not start")
    {
    }

    /// <summary>Creates an exception with exit code 1.</summary>
    public MeshHostStartException(string message)
        : this(message, 1)
    {
    }

    /// <summary>Creates an exception with exit code 1.</summary>
    public MeshHostStartException(string message, Exception inner)
        : this(message, 1, inner)
    {
    }

    /// <summary>The process exit code.</summary>
    public int ExitCode { get; }
}

/// <summary>
/// The MeshHost put together from a <see cref="CommandLine"/> and started: gRPC (h2c on http:// URLs) with ADS
/// (state of the world and delta), CreateCertificate, SDS and grpc.health.v1.Health; HTTP/1.1 with /healthz and the
/// loopback-only debug endpoints. Program.cs runs it; tests start it in-process with the same command lines.
/// </summary>
public sealed class MeshHostApplication : IAsyncDisposable
{
    private readonly DemoMesh? _demo;

    private MeshHostApplication(WebApplication app, IReadOnlyList<BoundEndpoint> endpoints, DemoMesh? demo, string? caWhere)
    {
        App = app;
        Endpoints = endpoints;
        _demo = demo;
        CaWhere = caWhere;
    }

    /// <summary>The running web application.</summary>
    public WebApplication App { get; }

    /// <summary>The bound endpoints, gRPC first.</summary>
    public IReadOnlyList<BoundEndpoint> Endpoints { get; }

    /// <summary>The first gRPC endpoint's address.</summary>
    public Uri GrpcAddress => Endpoints.First(e => e.Grpc).Address;

    /// <summary>The first HTTP/1.1 endpoint's address, when <c>--http-urls</c> was given.</summary>
    public Uri? HttpAddress => Endpoints.FirstOrDefault(e => !e.Grpc)?.Address;

    /// <summary>The push pipeline.</summary>
    public MeshPublisher Publisher => App.Services.GetRequiredService<MeshPublisher>();

    /// <summary>The folder of the demo mesh's manifests; null unless the demo runs.</summary>
    public string? DemoManifests => _demo?.ManifestsDirectory;

    /// <summary>Where the CA's root lives, for the log.</summary>
    internal string? CaWhere { get; }

    /// <summary>Builds the host for <paramref name="command"/> and starts it (the demo mesh first, when no source is
    /// given).</summary>
    /// <param name="command">The parsed command line.</param>
    /// <param name="settings">Logging and push options; null for the command-line host's.</param>
    /// <param name="cancellationToken">Ends the start.</param>
    /// <returns>The started host.</returns>
    /// <exception cref="MeshHostStartException">It cannot start; the message says why.</exception>
    public static async Task<MeshHostApplication> StartAsync(CommandLine command, MeshHostSettings? settings = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        settings ??= new MeshHostSettings();
        var serverCertificate = LoadServerCertificate(command);
        if (command.Mode == DiscoveryMode.InCluster && !k8s.KubernetesClientConfiguration.IsInCluster())
        {
            throw new MeshHostStartException(
                "--in-cluster: this process does not run in a Kubernetes pod (no service account token or KUBERNETES_SERVICE_HOST); use --kubeconfig <file>");
        }

        DemoMesh? demo = null;
        try
        {
            if (command.Mode == DiscoveryMode.Demo)
            {
                demo = await DemoMesh.StartAsync(command.Domain, cancellationToken).ConfigureAwait(false);
            }

            var (app, endpoints, caWhere) = Build(command, settings, serverCertificate, demo?.ManifestsDirectory);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw new MeshHostStartException($"cannot listen: {e.Message}", e);
            }

            var bound = endpoints.Select(e => e.Bind()).ToList();
            return new MeshHostApplication(app, bound, demo, caWhere);
        }
        catch
        {
            if (demo is not null)
            {
                await demo.DisposeAsync().ConfigureAwait(false);
            }

            serverCertificate?.Dispose();
            throw;
        }
    }

    /// <summary>Stops the host and the demo mesh.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await App.DisposeAsync().ConfigureAwait(false);
            if (_demo is not null)
            {
                await _demo.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static X509Certificate2? LoadServerCertificate(CommandLine command)
    {
        if (command.TlsCertificate is not { } certificateFile)
        {
            return null;
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(certificateFile, command.TlsKey);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            throw new MeshHostStartException($"cannot load --tls-cert/--tls-key: {e.Message}", e);
        }
    }

    private static (WebApplication App, List<PendingEndpoint> Endpoints, string? CaWhere) Build(CommandLine command, MeshHostSettings settings,
        X509Certificate2? serverCertificate, string? demoManifests)
    {
        // The command line is ours alone: the host must not read --urls (it would bind with its default protocols).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (settings.ConfigureLogging is { } configureLogging)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            // Every health probe before discovery is ready is "unhealthy", which the health check service logs as an
            // error; discovery and the push pipeline log what actually goes on.
            builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);
            // Kestrel's "overriding address(es)" when ASPNETCORE_URLS is set: the command line decides.
            builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        }

        var endpoints = new List<PendingEndpoint>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var url in command.GrpcUrls)
            {
                Listen(kestrel, url, HttpProtocols.Http2, grpc: true,
                    $"gRPC (HTTP/2{(url.Tls ? " over TLS" : " cleartext")}): ADS (SotW and delta), istio.v1.auth.IstioCertificateService, SDS, grpc.health.v1.Health, CSDS (loopback callers)");
            }

            foreach (var url in command.HttpUrls)
            {
                Listen(kestrel, url, HttpProtocols.Http1, grpc: false,
                    "HTTP/1.1: GET /healthz, GET /metrics, " + CertificateAuthorityEndpointRouteBuilderExtensions.DefaultTrustBundlePath
                    + "; loopback callers only: the status page /, /debug/syncz, /debug/config_dump?proxyID=<node id>, /debug/registryz, /debug/configz, "
                    + "/debug/problems, /debug/proxies, /debug/push_status");
            }
        });

        var mesh = new MeshOptions { Domain = command.Domain, TrustDomain = command.TrustDomain };
        var publisherOptions = settings.Publisher ?? new MeshPublisherOptions();
        builder.Services.AddSingleton(mesh);
        builder.Services.AddSingleton(publisherOptions);
        builder.Services.AddSingleton<MeshPublisher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MeshPublisher>());

        // The mesh's snapshots are per node id (the SnapshotCache's default NodeHash.ById): every proxy gets its own
        // configuration. Secrets come from AddWorkloadSecrets' cache, grouped by the identity a stream proves.
        var xds = builder.Services.AddXdsServer(o => o.AllowInsecureTransport = command.AllowInsecureTransport)
            .AddSnapshotCache()
            .AddCallbacks<ProxyCallbacks>();
        switch (command.Mode)
        {
            case DiscoveryMode.Manifests:
            case DiscoveryMode.Demo:
                var folder = command.Manifests ?? demoManifests!;
                xds.AddManifestDiscovery(o =>
                {
                    o.Directory = folder;
                    o.Domain = command.Domain;
                });
                break;
            default:
                xds.AddKubernetesDiscovery(o =>
                {
                    o.Domain = command.Domain;
                    o.KubeconfigPath = command.Kubeconfig;
                });
                break;
        }

        var inCluster = command.Mode is DiscoveryMode.Kubeconfig or DiscoveryMode.InCluster;
        string caWhere;
        try
        {
            if (command.Mode == DiscoveryMode.InCluster && command.CaFolder is null)
            {
                // Every replica signs under one root, kept in a Secret (see src/XdsServer.Kubernetes/README.md).
                xds.AddKubernetesCaRoot(_ => { });
                caWhere = "from the Secret istio-system/cacerts (or istio-ca-secret, created once among the replicas)";
            }
            else
            {
                caWhere = command.CaFolder is { } caFolder
                    ? $"from {caFolder} (Istio's cacerts layout; created there when missing)"
                    : "self-signed and kept in memory only: a restart makes a new root (--ca <dir> keeps it)";
            }

            xds.AddCertificateAuthority(o =>
            {
                o.Folder = command.CaFolder;
                o.Authority = new CertificateAuthorityOptions { TrustDomain = command.TrustDomain };
                o.StaticTokenFile = command.CaTokens;
            });
            if (inCluster)
            {
                xds.AddKubernetesTokenReview(o =>
                {
                    o.TrustDomain = command.TrustDomain;
                    o.KubeConfigPath = command.Kubeconfig;
                });
            }

            xds.AddWorkloadSecrets();
        }
        catch (ArgumentException e)
        {
            throw new MeshHostStartException(e.Message, exitCode: 2, e);
        }

        // Service "" reports every health check: discovery's and the mesh's are unhealthy until the first push.
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddHealthChecks().AddCheck<MeshHealthCheck>(MeshHealthCheck.Name, tags: ["ready"]);
        builder.Services.AddMetricsEndpoint(PushMetrics.MeterName); // GET /metrics: who may scrape it, see MetricsEndpoint
        builder.Services.AddMeshStatusSections();

        var app = builder.Build();
        settings.ConfigureApplication?.Invoke(app);
        app.MapXdsServer();
        app.MapClientStatus(); // CSDS for `MeshHost proxy-status`: loopback callers only
        app.MapCertificateAuthority();
        app.MapTrustBundle();
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz", new() { ResponseWriter = XdsHealthResponse.WriteAsync }); // why: loopback callers only
        app.MapMetricsEndpoint(port => endpoints.Any(e => !e.Grpc && e.Options.IPEndPoint?.Port == port));
        app.MapMeshDebug();
        app.MapPushStatus();
        app.MapStatusPage();
        try
        {
            // Load (or create) the root and read the token file now, so a bad folder or file stops the start.
            _ = app.Services.GetRequiredService<RotatingCertificateAuthority>();
            _ = app.Services.GetServices<ITokenReviewer>().ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidDataException
            or InvalidOperationException or ArgumentException or NotSupportedException or System.Security.Cryptography.CryptographicException
            or k8s.Autorest.HttpOperationException or HttpRequestException)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new MeshHostStartException($"cannot start the certificate authority: {e.Message}", e);
        }

        return (app, endpoints, caWhere);

        void Listen(KestrelServerOptions kestrel, ListenUrl url, HttpProtocols protocols, bool grpc, string serves)
        {
            void Configure(ListenOptions options)
            {
                options.Protocols = protocols;
                if (url.Tls)
                {
                    options.UseHttps(https =>
                    {
                        https.ServerCertificate = serverCertificate;
                        // A client certificate is optional at the TLS layer and never fetched for: the CA's
                        // authenticator judges it (chain to this CA's roots only), so one port takes mTLS, token and
                        // anonymous callers.
                        https.AcceptWorkloadClientCertificates();
                    });
                }

                endpoints.Add(new PendingEndpoint(url, options, grpc, serves));
            }

            if (url.Localhost)
            {
                kestrel.ListenLocalhost(url.Port, Configure);
            }
            else if (url.Address!.Equals(IPAddress.IPv6Any))
            {
                kestrel.ListenAnyIP(url.Port, Configure);
            }
            else
            {
                kestrel.Listen(url.Address, url.Port, Configure);
            }
        }
    }

    private sealed record PendingEndpoint(ListenUrl Url, ListenOptions Options, bool Grpc, string Serves)
    {
        public BoundEndpoint Bind()
        {
            var scheme = Url.Tls ? "https" : "http";
            // With port 0 the bound endpoint tells the port the system chose.
            var address = Options.IPEndPoint is not { } bound ? new Uri(Url.Text)
                : bound.Address.Equals(IPAddress.IPv6Any) || bound.Address.Equals(IPAddress.Any) ? new Uri($"{scheme}://localhost:{bound.Port}")
                : new Uri($"{scheme}://{bound}");
            return new BoundEndpoint(Url, address, Grpc, Serves);
        }
    }
}
