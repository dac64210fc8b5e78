using Microsoft.Extensions.Logging;

namespace XdsServer.Kubernetes.Internal;

// Log messages of the live source's list/watch loops (KubernetesDiscoverySource); event ids 2280–2309.
internal static partial class KubernetesLog
{
    [LoggerMessage(2280, LogLevel.Debug, "Source '{Source}': listed {Count} {Kind} at resource version {ResourceVersion}")]
    public static partial void Listed(ILogger logger, string source, int count, string kind, string resourceVersion);

    [LoggerMessage(2281, LogLevel.Debug, "Source '{Source}': the {Kind} watch ended; resuming from resource version {ResourceVersion}")]
    public static partial void WatchEnded(ILogger logger, string source, string kind, string resourceVersion);

    [LoggerMessage(2282, LogLevel.Information, "Source '{Source}': {Kind} resource version {ResourceVersion} is gone (410); listing again")]
    public static partial void Relisting(ILogger logger, string source, string kind, string resourceVersion);

    [LoggerMessage(2283, LogLevel.Warning, "Source '{Source}': the {Kind} watch sent nothing for {Timeout}; starting it again from resource version {ResourceVersion}")]
    public static partial void WatchdogFired(ILogger logger, string source, string kind, TimeSpan timeout, string resourceVersion);

    [LoggerMessage(2284, LogLevel.Warning, "Source '{Source}': {Kind} failed; retrying in {Delay}")]
    public static partial void KindFailed(ILogger logger, Exception exception, string source, string kind, TimeSpan delay);

    [LoggerMessage(2285, LogLevel.Warning, "Source '{Source}': {Kind} is not served (404: its CRD is not installed); checking again every {Interval}")]
    public static partial void KindNotInstalled(ILogger logger, string source, string kind, TimeSpan interval);

    [LoggerMessage(2286, LogLevel.Information, "Source '{Source}': {Kind} is back")]
    public static partial void KindRecovered(ILogger logger, string source, string kind);

    [LoggerMessage(2287, LogLevel.Warning, "Source '{Source}': {Object} could not be translated; it is left out")]
    public static partial void TranslateFailed(ILogger logger, Exception exception, string source, string @object);

    [LoggerMessage(2288, LogLevel.Information, "Source '{Source}' is ready: {Message}")]
    public static partial void Ready(ILogger logger, string source, string message);

    [LoggerMessage(2289, LogLevel.Information, "Source '{Source}': the {Kind} watch stream broke; resuming from resource version {ResourceVersion}")]
    public static partial void StreamBroke(ILogger logger, Exception exception, string source, string kind, string resourceVersion);
}
