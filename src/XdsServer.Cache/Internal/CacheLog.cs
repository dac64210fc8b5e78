using Microsoft.Extensions.Logging;

namespace XdsServer.Cache.Internal;

/// <summary>Log messages of the caches. Event ids 1000–1099 belong to XdsServer.Cache.</summary>
internal static partial class CacheLog
{
    [LoggerMessage(1000, LogLevel.Debug, "Snapshot set for '{Group}': {Snapshot}")]
    public static partial void SnapshotSet(ILogger logger, string group, Snapshot snapshot);

    [LoggerMessage(1001, LogLevel.Warning, "Snapshot for '{Group}' refused, the previous one stays served: {Problems}")]
    public static partial void SnapshotRejected(ILogger logger, string group, SnapshotValidationResult problems);

    [LoggerMessage(1002, LogLevel.Error, "A watch callback for {TypeUrl} threw; the stream's response is lost")]
    public static partial void ResponseCallbackFailed(ILogger logger, Exception exception, string typeUrl);

    [LoggerMessage(1003, LogLevel.Information, "Snapshot for '{Group}' dropped after {Idle} without streams")]
    public static partial void IdleSnapshotDropped(ILogger logger, string group, TimeSpan idle);

    [LoggerMessage(1004, LogLevel.Debug, "Last stream of '{Group}' closed; {Watches} watch(es) dropped")]
    public static partial void GroupStreamsClosed(ILogger logger, string group, int watches);

    [LoggerMessage(1005, LogLevel.Debug, "{TypeUrl} updated: {Updated} set, {Deleted} deleted, version {Version}")]
    public static partial void LinearUpdated(ILogger logger, string typeUrl, int updated, int deleted, string version);
}
