using Microsoft.Extensions.Logging;

namespace XdsServer.Kubernetes.Internal;

/// <summary>Log messages of the manifest-folder discovery source; event ids 2250–2279.</summary>
internal static partial class KubernetesLog
{
    [LoggerMessage(2250, LogLevel.Information, "Discovery source '{Source}' reads Kubernetes manifests from {Directory} (debounce {Debounce}, rescan {Rescan})")]
    public static partial void ManifestsWatching(ILogger logger, string source, string directory, TimeSpan debounce, TimeSpan rescan);

    [LoggerMessage(2251, LogLevel.Warning, "Manifest problem in {Directory}: {Problem}")]
    public static partial void ManifestProblem(ILogger logger, string directory, string problem);

    [LoggerMessage(2252, LogLevel.Information, "Manifests of {Directory}: {Objects} objects from {Files} files ({Parsed} read again), {Changes} registry changes, {Problems} problems")]
    public static partial void ManifestsLoaded(ILogger logger, string directory, int objects, int files, int parsed, int changes, int problems);

    [LoggerMessage(2253, LogLevel.Warning, "Manifests of {Directory}: {Kept} objects of files with problems are served at their last good version")]
    public static partial void ManifestsKeptLastGood(ILogger logger, string directory, int kept);

    [LoggerMessage(2254, LogLevel.Warning, "The manifest folder {Directory} does not exist; what it last held stays served")]
    public static partial void ManifestDirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(2255, LogLevel.Warning, "Cannot watch the manifest folder {Directory} ({Reason}); changes are picked up by the rescan only")]
    public static partial void ManifestWatcherUnavailable(ILogger logger, string directory, string reason);

    [LoggerMessage(2256, LogLevel.Error, "Reading the manifest folder {Directory} failed; what it last held stays served")]
    public static partial void ManifestReadFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(2257, LogLevel.Information, "The manifests of {Directory} have no problems any more")]
    public static partial void ManifestProblemsResolved(ILogger logger, string directory);
}
