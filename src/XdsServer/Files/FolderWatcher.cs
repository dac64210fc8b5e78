namespace XdsServer.Files;

/// <summary>
/// A <see cref="FileSystemWatcher"/> used only as a wake-up: every event of the folder calls the same callback, and
/// the caller finds what changed by comparing files, so a lost or coalesced event costs nothing but the wait for
/// the caller's next rescan. Shared by the folder sources of the file resources and of Kubernetes manifests.
/// </summary>
internal static class FolderWatcher
{
    /// <summary>Starts watching <paramref name="directory"/>; null (after <paramref name="onError"/>) when the
    /// platform gives no watcher, e.g. at the inotify instance limit, where the caller's rescan must do.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="recursive">Whether subfolders are watched too.</param>
    /// <param name="wake">Called on every event.</param>
    /// <param name="onError">Called with the reason when the watcher fails or cannot be made.</param>
    /// <returns>The watcher, to dispose when done; or null.</returns>
    public static FileSystemWatcher? TryStart(string directory, bool recursive, Action wake, Action<string> onError)
    {
        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = recursive,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite
                    | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Created += (_, _) => wake();
            watcher.Changed += (_, _) => wake();
            watcher.Deleted += (_, _) => wake();
            watcher.Renamed += (_, _) => wake();
            watcher.Error += (_, e) =>
            {
                onError(e.GetException().Message);
                wake();
            };
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            onError(e.Message);
            return null;
        }
    }
}
