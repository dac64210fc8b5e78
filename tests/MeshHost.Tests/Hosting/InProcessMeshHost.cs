using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using MeshHost.Hosting;
using MeshHost.Push;
using Microsoft.Extensions.Logging;

namespace MeshHost.Tests.Hosting;

/// <summary>The MeshHost started in this process from a command line (as Program.cs starts it), with its log captured.</summary>
internal sealed class InProcessMeshHost : IAsyncDisposable
{
    private InProcessMeshHost(MeshHostApplication host, LogCapture log)
    {
        Host = host;
        Log = log;
    }

    public MeshHostApplication Host { get; }

    public LogCapture Log { get; }

    public Uri Grpc => Host.GrpcAddress;

    public Uri Http => Host.HttpAddress ?? throw new InvalidOperationException("started without --http-urls");

    /// <summary>Parses <paramref name="args"/> as the command line and starts the host; waits until it is ready.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="publisher">The push pipeline's options, if not the defaults.</param>
    /// <param name="remoteCallers">When true, every HTTP and gRPC call but the xDS streams reaches the host as if from
    /// <see cref="RemoteCaller"/> (a documentation address no traffic goes to): how a test tries the doors that answer
    /// loopback callers only, while the test itself may reach loopback addresses only.</param>
    public static async Task<InProcessMeshHost> StartAsync(string[] args, MeshPublisherOptions? publisher = null, bool remoteCallers = false)
    {
        Assert.True(CommandLine.TryParse(args, out var command, out var error), error);
        var log = new LogCapture();
        var host = await MeshHostApplication.StartAsync(command, new MeshHostSettings
        {
            ConfigureLogging = logging =>
            {
                logging.AddProvider(log);
                logging.SetMinimumLevel(LogLevel.Debug);
            },
            Publisher = publisher,
            ConfigureApplication = remoteCallers ? LookRemote : null,
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await host.Publisher.WhenReady.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await host.DisposeAsync();
            throw new TimeoutException($"the host was not ready within 30 s. Log:\n{log.Describe()}");
        }

        return new InProcessMeshHost(host, log);
    }

    /// <summary>The address callers appear to come from with <c>remoteCallers</c> (TEST-NET-3, RFC 5737).</summary>
    public static readonly IPAddress RemoteCaller = IPAddress.Parse("203.0.113.9");

    public ValueTask DisposeAsync() => Host.DisposeAsync();

    private static void LookRemote(WebApplication app) =>
        app.Use((HttpContext context, RequestDelegate next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/envoy.service.discovery.v3.AggregatedDiscoveryService", StringComparison.Ordinal))
            {
                context.Connection.RemoteIpAddress = RemoteCaller;
            }

            return next(context);
        });
}
