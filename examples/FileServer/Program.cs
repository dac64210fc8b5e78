// FileServer: serves a folder of Envoy resources (YAML/JSON, picked up within a second of a change) to every
// node. gRPC on --urls (HTTP/2): ADS, the per-type xDS services, grpc.health.v1.Health (SERVING once the folder
// is loaded) and CSDS for loopback callers only. HTTP/1.1 on --http-urls: REST fetch (POST /v3/discovery:{type}),
// GET /healthz (why a check is not healthy: to loopback callers only) and GET /metrics (Prometheus text). Kestrel cannot offer HTTP/1.1 and HTTP/2 with prior knowledge on one cleartext port, hence two.
//
// With --ca <dir> it is also the mesh's certificate authority: istiod's CreateCertificate (bearer tokens from
// --ca-tokens, or a client certificate it issued) and SDS secrets 'default'/'ROOTCA' for the identity a stream
// proves, on the gRPC port; the SPIFFE trust bundle at GET /.well-known/spiffe-bundle on the HTTP/1.1 port.
// Tokens and secrets cross only TLS (https:// URLs with --tls-cert/--tls-key) or loopback connections, unless
// --allow-insecure-transport says otherwise (docs: SECURITY.md).
//
//   dotnet run --project examples/FileServer -c Release -- --urls https://127.0.0.1:18000 \
//       --resources examples/FileServer/sample [--http-urls http://127.0.0.1:18001] [--ca cacerts --ca-tokens tokens.json] \
//       --tls-cert server.crt --tls-key server.key
using XdsServer.Examples;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FileServer;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using XdsServer;
using XdsServer.Ca;

if (!CommandLine.TryParse(args, out var command, out var error))
{
    Console.Error.WriteLine($"FileServer: {error}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

if (command.Help)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

// The command line is ours alone: the host must not read --urls (it would bind with its default protocols).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss ";
});
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
// Every health probe before the folder loads is "unhealthy", which the health check service logs as an error;
// the file source logs the actual problems (missing folder, rejected files) once each.
builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);

X509Certificate2? serverCertificate = null;
if (command.TlsCertificate is { } certificateFile)
{
    try
    {
        serverCertificate = X509Certificate2.CreateFromPemFile(certificateFile, command.TlsKey);
    }
    catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
    {
        Console.Error.WriteLine($"FileServer: cannot load --tls-cert/--tls-key: {e.Message}");
        return 1;
    }
}

var endpoints = new List<(ListenUrl Url, ListenOptions Options, string Serves)>();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    foreach (var url in command.GrpcUrls)
    {
        Listen(kestrel, url, HttpProtocols.Http2, $"xDS over gRPC (HTTP/2{(url.Tls ? " over TLS" : " cleartext")}): ADS, per-type services, grpc.health.v1.Health, CSDS (loopback callers)"
            + (command.CaFolder is null ? string.Empty : ", istio.v1.auth.IstioCertificateService, SDS workload secrets"));
    }

    foreach (var url in command.HttpUrls)
    {
        Listen(kestrel, url, HttpProtocols.Http1, "HTTP/1.1: REST fetch POST /v3/discovery:{type}, GET /healthz, GET /metrics"
            + (command.CaFolder is null ? string.Empty : ", GET " + CertificateAuthorityEndpointRouteBuilderExtensions.DefaultTrustBundlePath));
    }
});

var xds = builder.Services.AddXdsServer(o => o.AllowInsecureTransport = command.AllowInsecureTransport)
    .AddFileResources(o => o.Directory = command.Resources);
if (command.CaFolder is { } caFolder)
{
    try
    {
        xds.AddCertificateAuthority(o =>
        {
            o.Folder = caFolder;
            o.Authority = new CertificateAuthorityOptions { TrustDomain = command.TrustDomain };
            o.StaticTokenFile = command.CaTokens;
        }).AddWorkloadSecrets();
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"FileServer: {e.Message}");
        return 2;
    }
}

builder.Services.AddGrpcHealthChecks(); // service "" reports every health check: the folder's is unhealthy until it loads
builder.Services.AddMetricsEndpoint(); // GET /metrics on the HTTP/1.1 port: who may scrape it, see MetricsEndpoint

var app = builder.Build();
app.MapXdsServer();
app.MapClientStatus(); // CSDS, an operator API: loopback callers only, secrets reported without their payload
app.MapGrpcHealthChecksService();
app.MapHealthChecks("/healthz", new() { ResponseWriter = XdsHealthResponse.WriteAsync }); // why: loopback callers only
app.MapMetricsEndpoint(port => endpoints.Any(e => command.HttpUrls.Contains(e.Url) && e.Options.IPEndPoint?.Port == port));
RotatingCertificateAuthority? authority = null;
if (command.CaFolder is not null)
{
    app.MapCertificateAuthority();
    app.MapTrustBundle();
    try
    {
        // Load (or create) the root and read the token file now, so a bad folder or file stops the start.
        authority = app.Services.GetRequiredService<RotatingCertificateAuthority>();
        _ = app.Services.GetServices<ITokenReviewer>().ToList();
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidDataException
        or InvalidOperationException or ArgumentException or NotSupportedException or System.Security.Cryptography.CryptographicException)
    {
        Console.Error.WriteLine($"FileServer: cannot start the certificate authority: {e.Message}");
        return 1;
    }
}

try
{
    await app.StartAsync();
}
catch (IOException e)
{
    Console.Error.WriteLine($"FileServer: cannot listen: {e.Message}");
    return 1;
}

var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FileServer");
foreach (var (url, options, serves) in endpoints)
{
    // With port 0 the bound endpoint tells the port the system chose.
    var shown = url.Port == 0 && options.IPEndPoint is { } bound ? $"{(url.Tls ? "https" : "http")}://{bound}" : url.Text;
    FileServerLog.Listening(log, shown, serves);
}

if (authority is not null)
{
    var root = authority.Current.RootCertificate;
    FileServerLog.CertificateAuthority(log, command.TrustDomain, command.CaFolder!, root.Subject, root.NotAfter.ToUniversalTime(),
        command.CaTokens ?? (serverCertificate is null
            ? "(none: over cleartext no caller can prove an identity)"
            : "(none: callers prove an identity with a client certificate this CA issued)"));
}

FileServerLog.Serving(log, command.Resources);
await app.WaitForShutdownAsync();
return 0;

void Listen(KestrelServerOptions kestrel, ListenUrl url, HttpProtocols protocols, string serves)
{
    void Configure(ListenOptions options)
    {
        options.Protocols = protocols;
        if (url.Tls)
        {
            options.UseHttps(https =>
            {
                https.ServerCertificate = serverCertificate;
                // A client certificate is optional at the TLS layer and never fetched for: the CA's authenticator
                // judges it (chain to this CA's roots only, clientAuth, one SPIFFE ID), so one port takes mTLS, token
                // and anonymous callers.
                https.AcceptWorkloadClientCertificates();
            });
        }

        endpoints.Add((url, options, serves));
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
