using System.Threading.Channels;

namespace XdsServer.Files;

/// <summary>
/// When a watched folder may have changed: a <see cref="FileSystemWatcher"/> used only as a wake-up (every event
/// signals; the caller finds what changed by comparing files, so a lost or coalesced event costs nothing but the
/// wait for the next rescan), a rescan period, and a debounce so that a burst of writes is read once. Shared by
/// the folder sources of the file resources and of Kubernetes manifests. One reader loop at a time.
/// </summary>
internal sealed class FolderChanges(string directory, bool recursive, TimeSpan debounce, TimeProvider time, Action<string> onWatcherError)
    : IDisposable
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private FileSystemWatcher? _watcher;
    private bool _unavailable;

    /// <summary>Starts the watcher if it is not running. Where the platform gives none (the inotify instance
    /// limit, say) it is reported once and not tried again until <see cref="StopWatching"/>: the rescan must do.</summary>
    public void EnsureWatching()
    {
        if (_watcher is not null || _unavailable)
        {
            return;
        }

        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = recursive,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite
                    | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Created += (_, _) => Signal();
            watcher.Changed += (_, _) => Signal();
            watcher.Deleted += (_, _) => Signal();
            watcher.Renamed += (_, _) => Signal();
            watcher.Error += (_, e) =>
            {
                onWatcherError(e.GetException().Message);
                Signal();
            };
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            _unavailable = true;
            onWatcherError(e.Message);
        }
    }

    /// <summary>
    /// The folder's files whose name <paramref name="wanted"/> accepts, in ordinal order of their path relative to
    /// the folder (with '/'), skipping hidden and system files and any path part starting with '.'. A symbolic link
    /// is described by its final target (a ConfigMap mount's files are links into a timestamped folder, so their
    /// own times never change); a file that is gone (or a dangling link) is left out.
    /// </summary>
    /// <param name="wanted">Decides by file name.</param>
    /// <returns>Each file's full path (as listed), relative path, and what says whether it changed.</returns>
    public IEnumerable<(string FullPath, string RelativePath, DateTime LastWrite, long Length)> Files(Func<string, bool> wanted)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = recursive,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            IgnoreInaccessible = true,
            ReturnSpecialDirectories = false,
        };

        var listed = Directory.EnumerateFiles(directory, "*", options)
            .Select(full => (Full: full, Relative: Path.GetRelativePath(directory, full).Replace('\\', '/')))
            .Where(f => f.Relative.Split('/').All(part => !part.StartsWith('.')) && wanted(Path.GetFileName(f.Full)))
            .OrderBy(f => f.Relative, StringComparer.Ordinal);
        foreach (var (full, relative) in listed)
        {
            var info = new FileInfo(full);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
            {
                info = target;
            }

            if (info.Exists) // else deleted (or a dangling link) since it was listed
            {
                yield return (full, relative, info.LastWriteTimeUtc, info.Length);
            }
        }
    }

    /// <summary>Stops the watcher (the folder went away); the next <see cref="EnsureWatching"/> tries again.</summary>
    public void StopWatching()
    {
        _watcher?.Dispose();
        _watcher = null;
        _unavailable = false;
    }

    /// <summary>Wakes the loop, as a change would.</summary>
    public void Signal() => _signal.Writer.TryWrite(true);

    /// <summary>Waits for a change or for <paramref name="rescan"/> to pass; after a change, until no notification
    /// came for the debounce period, at most five periods from the first one (a file written continuously must not
    /// starve the reload). True when a change came.</summary>
    public async Task<bool> WaitAsync(TimeSpan rescan, CancellationToken stopping)
    {
        if (!await WaitForSignalAsync(rescan, stopping).ConfigureAwait(false))
        {
            return false;
        }

        var started = time.GetTimestamp();
        var limit = debounce * 5;
        while (debounce > TimeSpan.Zero)
        {
            var left = limit - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero || !await WaitForSignalAsync(left < debounce ? left : debounce, stopping).ConfigureAwait(false))
            {
                break;
            }
        }

        return true;
    }

    /// <summary>Stops the watcher.</summary>
    public void Dispose() => _watcher?.Dispose();

    private async Task<bool> WaitForSignalAsync(TimeSpan timeout, CancellationToken stopping)
    {
        if (_signal.Reader.TryRead(out _))
        {
            return true;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var signaled = _signal.Reader.WaitToReadAsync(cts.Token).AsTask();
        var timedOut = Task.Delay(timeout, time, cts.Token);
        await Task.WhenAny(signaled, timedOut).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false); // releases the loser (timer or channel waiter)
        stopping.ThrowIfCancellationRequested();
        return _signal.Reader.TryRead(out _);
    }
}
