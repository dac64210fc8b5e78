using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace XdsServer.Discovery;

/// <summary>Runs the registered discovery sources while the host runs; a source that throws is started again after
/// a back-off (1 s doubling to 1 min, with jitter) and is unhealthy meanwhile.</summary>
internal sealed class DiscoveryHost(ServiceRegistry registry, IEnumerable<IServiceDiscoverySource> sources, TimeProvider time,
    ILogger<DiscoveryHost>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sinks = sources.Select(s => (Source: s, Sink: registry.OpenSink(s.Name))).ToList();
        return Task.WhenAll(sinks.Select(s => RunAsync(s.Source, s.Sink, stoppingToken)));
    }

    private async Task RunAsync(IServiceDiscoverySource source, DiscoverySink sink, CancellationToken ct)
    {
        var backoff = new XdsServer.Internal.Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                DiscoveryLog.SourceStarted(_logger, source.Name);
                await source.RunAsync(sink, ct).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var wait = backoff.Next();
                DiscoveryLog.SourceFailed(_logger, e, source.Name, wait);
                sink.SetHealth(false, $"failed: {e.Message}; starting again");
                try
                {
                    await Task.Delay(wait, time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

            }
        }
    }
}
