using Microsoft.Extensions.Logging;

namespace XdsServer.Discovery;

/// <summary>Log messages of service discovery; event ids 2200–2249.</summary>
internal static partial class DiscoveryLog
{
    [LoggerMessage(2200, LogLevel.Warning, "{Key} from source '{Source}' ignored: source '{Owner}' already provides it")]
    public static partial void Conflict(ILogger logger, string key, string source, string owner);

    [LoggerMessage(2201, LogLevel.Error, "Discovery source '{Source}' failed; it starts again in {Delay}")]
    public static partial void SourceFailed(ILogger logger, Exception exception, string source, TimeSpan delay);

    [LoggerMessage(2202, LogLevel.Information, "Discovery source '{Source}' started")]
    public static partial void SourceStarted(ILogger logger, string source);
}
