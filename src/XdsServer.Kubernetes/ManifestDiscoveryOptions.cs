namespace XdsServer.Kubernetes;

/// <summary>Options of a <see cref="ManifestDiscoverySource"/>: which folder, under which source name, how fast to react.</summary>
public sealed class ManifestDiscoveryOptions
{
    /// <summary>The folder of Kubernetes manifests (absolute, or relative to the current directory). Its
    /// <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> files are read, in subfolders too; names starting with '.' are
    /// skipped (editor swap files, the <c>..data</c> folder of a ConfigMap mount). Required.</summary>
    public string Directory { get; set; } = string.Empty;

    /// <summary>The source's name (in logs, status and object ownership), unique among the host's discovery
    /// sources. <c>manifests</c> by default.</summary>
    public string Name { get; set; } = "manifests";

    /// <summary>The cluster DNS domain services are named in (<c>name.namespace.svc.&lt;domain&gt;</c>).
    /// <c>cluster.local</c> by default.</summary>
    public string Domain { get; set; } = "cluster.local";

    /// <summary>How long the folder must stay quiet after a change before it is read (a burst of writes is read
    /// once); never more than five times this from the first change. 100 ms by default; zero reads at once.</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the folder is rescanned without a file-system notification (network file systems,
    /// exhausted inotify limits, missed events); a rescan only compares each file's last-write time and length.
    /// 1 s by default; <see cref="Timeout.InfiniteTimeSpan"/> turns it off.</summary>
    public TimeSpan Rescan { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws when the options cannot work.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("ManifestDiscoveryOptions.Directory is required: the folder of Kubernetes manifests.");
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException("ManifestDiscoveryOptions.Name must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(Domain))
        {
            throw new ArgumentException("ManifestDiscoveryOptions.Domain must not be empty.");
        }

        if (Debounce < TimeSpan.Zero || Debounce > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"ManifestDiscoveryOptions.Debounce must be between 0 and 1 minute (is {Debounce}).");
        }

        if (Rescan != Timeout.InfiniteTimeSpan && (Rescan <= TimeSpan.Zero || Rescan > TimeSpan.FromDays(1)))
        {
            throw new ArgumentException($"ManifestDiscoveryOptions.Rescan must be positive and at most a day, or Timeout.InfiniteTimeSpan (is {Rescan}).");
        }
    }
}
