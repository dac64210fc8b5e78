using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace XdsServer.Testing;

/// <summary>
/// Starts an ASP.NET Core host for a test on a free port of 127.0.0.1 (Kestrel picks it), with logging off, and
/// stops it: the one way every test host here (xDS servers, echo backends, CA servers) is run.
/// </summary>
public static class LoopbackHost
{
    /// <summary>HTTP/2 cleartext, what gRPC clients without TLS speak.</summary>
    public static readonly Action<ListenOptions> Http2Cleartext = l => l.Protocols = HttpProtocols.Http2;

    /// <summary>Builds, maps and starts a host.</summary>
    /// <param name="listen">How the loopback endpoint listens (protocols, TLS).</param>
    /// <param name="services">Registers the host's services.</param>
    /// <param name="map">Maps its endpoints once built (before it starts).</param>
    /// <returns>The started host and the address it listens on (<c>http(s)://127.0.0.1:port</c>).</returns>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Action<ListenOptions> listen,
        Action<IServiceCollection> services, Action<WebApplication> map)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(map);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen));
        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }

    /// <summary>Stops and disposes a host started here.</summary>
    public static async ValueTask StopAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
