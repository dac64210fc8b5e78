using Microsoft.Extensions.Logging;

namespace XdsServer.Files;

/// <summary>Log messages of the file resource source. Event ids 2100–2149 (2150–2199 are the FileServer example's).</summary>
internal static partial class FileResourceLog
{
    [LoggerMessage(2100, LogLevel.Information, "Loaded {Count} resource(s) from {Files} file(s) in '{Directory}' for group '{Group}': {Snapshot}")]
    public static partial void Loaded(ILogger logger, int count, int files, string directory, string group, Cache.Snapshot snapshot);

    [LoggerMessage(2101, LogLevel.Warning, "Resource file '{File}' in '{Directory}' rejected: {Reason}")]
    public static partial void FileRejected(ILogger logger, string file, string directory, string reason);

    [LoggerMessage(2102, LogLevel.Warning, "'{Directory}' has {Count} problem(s); the last good snapshot of group '{Group}' stays served")]
    public static partial void KeptLastGood(ILogger logger, string directory, int count, string group);

    [LoggerMessage(2103, LogLevel.Warning, "Resource folder '{Directory}' does not exist; waiting for it")]
    public static partial void DirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(2104, LogLevel.Debug, "Read '{Directory}': {Parsed} file(s) parsed, {Reused} unchanged")]
    public static partial void Read(ILogger logger, string directory, int parsed, int reused);

    [LoggerMessage(2105, LogLevel.Information, "SnapshotCache.NodeHash does not map every node to group '{Group}': only nodes it maps there see the resources of '{Directory}'")]
    public static partial void GroupNotForAllNodes(ILogger logger, string group, string directory);

    [LoggerMessage(2106, LogLevel.Error, "Reading resource folder '{Directory}' failed; the last good snapshot stays served")]
    public static partial void ReadFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(2107, LogLevel.Warning, "File-system notifications for '{Directory}' are unavailable ({Reason}); relying on the periodic rescan")]
    public static partial void WatcherUnavailable(ILogger logger, string directory, string reason);

    [LoggerMessage(2109, LogLevel.Warning, "Resource file '{File}' in '{Directory}' rejected at line {Line}, column {Column}: {Reason}")]
    public static partial void FileRejectedAt(ILogger logger, string file, int line, int column, string directory, string reason);

    [LoggerMessage(2108, LogLevel.Information, "Watching '{Directory}' for resource files (group '{Group}', debounce {Debounce}, rescan {Rescan})")]
    public static partial void Watching(ILogger logger, string directory, string group, TimeSpan debounce, TimeSpan rescan);
}
