namespace XdsServer.Files;

/// <summary>Options of a <see cref="FileResourceSource"/>: which folder, which node group, how fast to react.</summary>
public sealed class FileResourceOptions
{
    /// <summary>The group the folder is published under unless <see cref="Group"/> says otherwise.</summary>
    public const string DefaultGroup = "files";

    /// <summary>The folder to serve (absolute, or relative to the current directory). Its <c>*.yaml</c>,
    /// <c>*.yml</c> and <c>*.json</c> files are read; names starting with '.' are skipped (editor swap files,
    /// the <c>..data</c> entries of a Kubernetes ConfigMap mount). Required.</summary>
    public string Directory { get; set; } = string.Empty;

    /// <summary>The <see cref="Cache.SnapshotCache"/> group the folder's snapshot is published under:
    /// nodes whose <see cref="Cache.SnapshotCacheOptions.NodeHash"/> maps them to this group see it.
    /// <see cref="DefaultGroup"/> by default.</summary>
    public string Group { get; set; } = DefaultGroup;

    /// <summary>How long the folder must stay quiet after a change before it is read (a burst of writes is
    /// read once). The wait never exceeds five times this value from the first change, so a file that is
    /// written continuously is still picked up. 100 ms by default; zero reads at once.</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the folder is rescanned even without a file-system notification (a fallback for
    /// network file systems, exhausted inotify limits and missed events). A rescan only compares each file's
    /// last-write time and length, so it is cheap. 1 s by default; <see cref="Timeout.InfiniteTimeSpan"/>
    /// turns it off.</summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether files in subfolders are read too (folders starting with '.' are skipped). Off by default.</summary>
    public bool IncludeSubdirectories { get; set; }

    /// <summary>Throws when the options cannot work.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("FileResourceOptions.Directory is required: the folder whose resource files are served.");
        }

        ArgumentNullException.ThrowIfNull(Group, "FileResourceOptions.Group");
        if (Debounce < TimeSpan.Zero || Debounce > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"FileResourceOptions.Debounce must be between 0 and 1 minute (is {Debounce}).");
        }

        if (RescanInterval != Timeout.InfiniteTimeSpan && (RescanInterval <= TimeSpan.Zero || RescanInterval > TimeSpan.FromDays(1)))
        {
            throw new ArgumentException($"FileResourceOptions.RescanInterval must be positive and at most a day, or Timeout.InfiniteTimeSpan (is {RescanInterval}).");
        }
    }
}
