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
    public static async Task<InProcessMeshHost> StartAsync(string[] args, MeshPublisherOptions? publisher = null)
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

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
