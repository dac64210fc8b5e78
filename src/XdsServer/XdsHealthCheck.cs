using System.Globalization;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using XdsServer.Internal;

namespace XdsServer;

/// <summary>
/// The <c>xds</c> health check: Healthy with the number of open streams while every proxy takes what it is sent;
/// Degraded while a proxy rejects (NACKs) the configuration it was sent last, or has not answered (neither ACKed
/// nor NACKed) a response for longer than <see cref="UnansweredLimit"/>. Both mean a proxy runs on configuration
/// older than the server's: a NACK names the resource it refused, and a response that stays unanswered means a proxy
/// that stopped reading or a stream that is stuck. The description names up to <see cref="MaxListed"/> such proxies
/// (node id, type, why), which <see cref="XdsHealthResponse"/> shows to loopback callers only. Never Unhealthy: the
/// server still serves every other proxy, so a readiness probe should not take it out of rotation.
/// </summary>
internal sealed class XdsHealthCheck(XdsServerCore core) : IHealthCheck
{
    /// <summary>How long a sent response may stay unanswered before the check counts the proxy as stalled.</summary>
    public static readonly TimeSpan UnansweredLimit = TimeSpan.FromMinutes(1);

    /// <summary>How many proxies the description names at most (the rest are counted).</summary>
    public const int MaxListed = 5;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Evaluate(core.Registry.GetStreams(withResources: false), core.Time.GetUtcNow()));

    /// <summary>The check's answer for these streams at <paramref name="now"/>.</summary>
    public static HealthCheckResult Evaluate(IReadOnlyList<XdsStreamStatus> streams, DateTimeOffset now)
    {
        var rejecting = new List<string>();
        var stalled = new List<string>();
        foreach (var stream in streams)
        {
            foreach (var type in stream.Types)
            {
                var shortName = Operations.ProxySync.ShortName(type.TypeUrl);
                if (type.LastNack is { } nack)
                {
                    rejecting.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{ClientText.ForLog(stream.Node.Id, 200)} rejects {shortName} version {ClientText.ForLog(nack.RejectedVersion, 64)}: {ClientText.ForLog(nack.Message, 200)}"));
                }
                else if (type.AwaitingAck && type.LastSentAt is { } sentAt && now - sentAt > UnansweredLimit)
                {
                    stalled.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{ClientText.ForLog(stream.Node.Id, 200)} has not answered {shortName} version {type.LastSentVersion} for {(int)(now - sentAt).TotalSeconds}s"));
                }
            }
        }

        var data = new Dictionary<string, object>
        {
            ["streams"] = streams.Count,
            ["rejecting"] = rejecting.Count,
            ["stalled"] = stalled.Count,
        };
        var open = string.Create(CultureInfo.InvariantCulture, $"{streams.Count} xDS stream(s) open");
        if (rejecting.Count == 0 && stalled.Count == 0)
        {
            return HealthCheckResult.Healthy(open, data);
        }

        var text = new StringBuilder(open);
        Describe(text, rejecting, "proxy type(s) reject the configuration they were sent last");
        Describe(text, stalled, string.Create(CultureInfo.InvariantCulture,
            $"proxy type(s) have not answered a response for over {(int)UnansweredLimit.TotalSeconds}s"));
        return HealthCheckResult.Degraded(text.ToString(), data: data);
    }

    private static void Describe(StringBuilder text, List<string> lines, string what)
    {
        if (lines.Count == 0)
        {
            return;
        }

        text.Append(CultureInfo.InvariantCulture, $"; {lines.Count} {what}");
        foreach (var line in lines.Take(MaxListed))
        {
            text.Append('\n').Append(line);
        }

        if (lines.Count > MaxListed)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n(and {lines.Count - MaxListed} more)");
        }
    }
}
