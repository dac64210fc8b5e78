using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Ca.Istio;
using XdsServer.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>An xDS server with the CA on a free loopback port (h2c), a static token file and a cacerts folder.</summary>
public sealed class CaServer : IAsyncLifetime
{
    public const string WebToken = "tok-web-7f3a";
    public static readonly SpiffeId WebIdentity = SpiffeId.ForIstio("cluster.local", "default", "web");
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(48);

    private WebApplication? _app;
    private GrpcChannel? _channel;

    public string Folder { get; } = TestCa.TempFolder();

    public string CaFolder => Path.Combine(Folder, "cacerts");

    public IstioCertificateService.IstioCertificateServiceClient Client { get; private set; } = null!;

    /// <summary>The host's services (its meter factory, for the metrics test).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the CA server is not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        var tokenFile = Path.Combine(Folder, "tokens.json");
        await File.WriteAllTextAsync(tokenFile, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            [WebToken] = WebIdentity.ToString(),
            ["tok-foreign"] = "spiffe://example.org/ns/default/sa/web",
        }));

        (_app, var address) = await LoopbackHost.StartAsync(LoopbackHost.Http2Cleartext,
            services => services.AddXdsServer().AddSnapshotCache().AddCertificateAuthority(o =>
            {
                o.Folder = CaFolder;
                o.StaticTokenFile = tokenFile;
                o.Workload = new WorkloadCertificateOptions { MaxLifetime = MaxLifetime };
            }),
            app => app.MapCertificateAuthority());
        _channel = GrpcChannel.ForAddress(address);
        Client = new IstioCertificateService.IstioCertificateServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await LoopbackHost.StopAsync(_app);
        }
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
