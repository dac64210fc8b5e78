using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XdsServer.Cache;

namespace XdsServer.Testing;

/// <summary>An xDS server on a free loopback port (HTTP/2 cleartext), built with the public API.</summary>
public sealed class LoopbackXdsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackXdsServer(WebApplication app, int port, LogCapture logs)
    {
        _app = app;
        Port = port;
        Logs = logs;
    }

    /// <summary>What the server logged (Information and above), for failure messages.</summary>
    public LogCapture Logs { get; }

    /// <summary>The port the server listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:port</c>.</summary>
    public Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The snapshot cache, when the server was built with one.</summary>
    public SnapshotCache Snapshots => Services.GetRequiredService<SnapshotCache>();

    /// <summary>The status of open streams.</summary>
    public IXdsStatus Status => Services.GetRequiredService<IXdsStatus>();

    /// <summary>A one-line-per-type dump of every open stream, for failure messages.</summary>
    public string Describe() => string.Join("\n", Status.GetStreams().SelectMany(s => s.Types.Select(t =>
        $"stream {s.StreamId} node {s.Node.Id} {t.TypeUrl.Split('.').Last()}: sent {t.ResponsesSent} (last v{t.LastSentVersion} n{t.LastSentNonce}), " +
        $"acked v{t.AckedVersion}, acks {t.Acks}, nacks {t.Nacks}, pending {t.PendingResponses}, held {t.HeldForOrdering}, [{t.Subscription}]")));

    /// <summary>Starts a server. By default it serves a <see cref="SnapshotCache"/>; <paramref name="configure"/>
    /// can add callbacks, authorizers, other caches or options. It maps <c>MapXdsServer()</c> and CSDS with its
    /// defaults, or runs <paramref name="map"/> instead when given.</summary>
    public static async Task<LoopbackXdsServer> StartAsync(Action<IXdsServerBuilder>? configure = null,
        Action<XdsServerOptions>? options = null, Action<IServiceCollection>? services = null, bool http1 = false,
        Action<WebApplication>? map = null)
    {
        var logs = new LogCapture();
        var (app, address) = await LoopbackHost.StartAsync(
            l => l.Protocols = http1 ? HttpProtocols.Http1 : HttpProtocols.Http2,
            collection =>
            {
                var xds = collection.AddXdsServer(options);
                if (configure is null)
                {
                    xds.AddSnapshotCache();
                }
                else
                {
                    configure(xds);
                }

                collection.AddSingleton<ILoggerProvider>(logs);
                services?.Invoke(collection);
            },
            built =>
            {
                if (map is null)
                {
                    built.MapXdsServer();
                    built.MapClientStatus(); // loopback callers only, as by default
                }
                else
                {
                    map(built);
                }
            });
        return new LoopbackXdsServer(app, address.Port, logs);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => LoopbackHost.StopAsync(_app);
}
