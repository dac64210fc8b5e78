using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Discovery;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// A discovery source that serves a folder of Kubernetes manifests: Services, EndpointSlices, Pods, Namespaces,
/// Nodes and Istio configuration (ServiceEntries, WorkloadEntries, VirtualServices, …), translated by a
/// <see cref="KubernetesTranslator"/>. The folder is watched (file-system notifications, debounced, and a periodic
/// rescan) and written whole with <see cref="DiscoverySink.Replace"/> at every change, so only what really changed
/// becomes a registry change.
/// </summary>
/// <remarks>
/// <para>Files: every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> file of the folder and its subfolders (names
/// starting with '.' skipped), each of any number of <c>---</c> documents, each a Kubernetes object or a
/// <c>kind: List</c> of them. A namespaced object without a namespace is in <c>default</c>; a manifest's
/// <c>resourceVersion</c> is ignored (versions are content hashes).</para>
/// <para>Endpoints without EndpointSlices: a Service with a selector that no EndpointSlice of the folder belongs
/// to gets an endpoint group of the Pods it selects (give them <c>status.podIP</c>), and a ServiceEntry with a
/// <c>workloadSelector</c> one of the WorkloadEntries and Pods it selects; the groups are of kind
/// <see cref="SelectedEndpointsKind"/>. So a folder of loopback WorkloadEntries runs on one machine.</para>
/// <para>Bad input: each bad document (not YAML, no <c>kind</c>, <c>apiVersion</c> or <c>metadata.name</c>, a
/// field of the wrong type, an object defined twice) is a <see cref="ManifestProblem"/> with its file, line and
/// column, logged, listed in <see cref="Problems"/>, and makes the source unhealthy. The rest of the folder is
/// still served, and while a file has problems, the objects it last served that it no longer defines well stay
/// served at their last good version. A missing folder is a problem too; what it held stays served.</para>
/// </remarks>
public sealed class ManifestDiscoverySource : IServiceDiscoverySource, IDisposable
{
    /// <summary>The kind of the endpoint groups made from the Pods or WorkloadEntries a service selects.</summary>
    public const string SelectedEndpointsKind = "manifests.xdsserver/SelectedEndpoints";


    private readonly KubernetesTranslator _translator;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _debounce;
    private readonly TimeSpan _rescan;
    private readonly XdsServer.Files.FolderChanges _changes;
    private readonly ManifestFolder _folder = new();
    private readonly EndpointSynthesizer _synthesizer = new();
    private readonly HashSet<string> _kinds = new(StringComparer.Ordinal);
    private Dictionary<string, CachedFile> _files = new(StringComparer.Ordinal);
    private IReadOnlyList<ManifestProblem> _problems = [];
    private bool _readOnce;
    private bool _ready;

    /// <summary>Creates the source; it reads nothing until the host runs it.</summary>
    /// <param name="options">The folder, name, domain and timings.</param>
    /// <param name="timeProvider">The clock for debounce and rescans; the system clock when null.</param>
    /// <param name="logger">Where to log; nowhere when null.</param>
    /// <exception cref="ArgumentException">The options are incomplete or out of range.</exception>
    public ManifestDiscoverySource(ManifestDiscoveryOptions options, TimeProvider? timeProvider = null, ILogger<ManifestDiscoverySource>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Name = options.Name;
        Directory = Path.GetFullPath(options.Directory);
        _translator = new KubernetesTranslator(options.Domain);
        _debounce = options.Debounce;
        _rescan = options.Rescan;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        // Subfolders are read too; without a watcher (the inotify instance limit, say) the rescan still picks changes up.
        _changes = new XdsServer.Files.FolderChanges(Directory, recursive: true, _debounce, _time,
            reason => KubernetesLog.ManifestWatcherUnavailable(_logger, Directory, reason));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Stops watching the folder (the container does this when the host stops).</summary>
    public void Dispose() => _changes.Dispose();

    /// <summary>The folder, as a full path.</summary>
    public string Directory { get; }

    /// <summary>The problems of the last read, by file and line; empty when the folder is good.</summary>
    public IReadOnlyList<ManifestProblem> Problems => Volatile.Read(ref _problems);

    /// <inheritdoc />
    public async Task RunAsync(DiscoverySink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        KubernetesLog.ManifestsWatching(_logger, Name, Directory, _debounce, _rescan);
        try
        {
            while (true)
            {
                try
                {
                    Read(sink);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A bug must not end the watch: report it, keep serving, read everything afresh next time.
                    KubernetesLog.ManifestReadFailed(_logger, e, Directory);
                    _readOnce = false;
                    sink.SetHealth(false, $"reading {Directory} failed: {e.Message}");
                }

                await _changes.WaitAsync(_rescan, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _changes.StopWatching();
        }
    }

    /// <summary>Reads what changed and writes the folder to the sink.</summary>
    private void Read(DiscoverySink sink)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            OnDirectoryMissing(sink);
            return;
        }

        _changes.EnsureWatching();
        var files = new Dictionary<string, CachedFile>(StringComparer.Ordinal);
        var changed = !_readOnce;
        var parsed = 0;
        foreach (var (fullPath, relativePath, lastWrite, length) in _changes.Files(XdsServer.Files.ResourceFile.IsResourceFileName))
        {
            if (!_files.TryGetValue(relativePath, out var file) || file.LastWrite != lastWrite || file.Length != length)
            {
                ManifestFile content;
                try
                {
                    content = ManifestParser.Parse(relativePath, File.ReadAllText(fullPath), _translator);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    continue; // deleted between listing and reading: the deletion has its own notification
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    content = new ManifestFile([], [new ManifestProblem { File = relativePath, Reason = $"cannot be read: {e.Message}" }]);
                }

                file = new CachedFile(lastWrite, length, content);
                parsed++;
                changed = true;
            }

            files.Add(relativePath, file);
        }

        changed |= files.Count != _files.Count || files.Keys.Any(k => !_files.ContainsKey(k));
        _files = files;
        _readOnce = true;
        if (!changed)
        {
            return; // the folder is exactly what was last read (and reported on)
        }

        var (entries, problems, kept) = _folder.Merge([.. files.Select(f => (f.Key, f.Value.Content))]);
        var objects = entries.SelectMany(e => e.Translated).Concat(_synthesizer.Synthesize(entries))
            .DistinctBy(o => o.Key).ToList();
        _kinds.UnionWith(objects.Select(o => o.Key.Kind));
        var changes = sink.Replace(_kinds, objects);
        KubernetesLog.ManifestsLoaded(_logger, Directory, objects.Count, files.Count, parsed, changes.Count, problems.Count);
        if (kept > 0)
        {
            KubernetesLog.ManifestsKeptLastGood(_logger, Directory, kept);
        }

        Report(sink, problems, $"{objects.Count} objects from {files.Count} files");
    }

    private void Report(DiscoverySink sink, IReadOnlyList<ManifestProblem> problems, string message)
    {
        var before = new HashSet<ManifestProblem>(Volatile.Read(ref _problems));
        foreach (var problem in problems.Where(p => !before.Contains(p)))
        {
            KubernetesLog.ManifestProblem(_logger, Directory, ClientText.ForLog(problem.ToString(), 1024));
        }

        if (problems.Count == 0 && before.Count > 0)
        {
            KubernetesLog.ManifestProblemsResolved(_logger, Directory);
        }

        Volatile.Write(ref _problems, problems);
        if (!_ready)
        {
            _ready = true;
            sink.SetReady(message);
        }

        if (problems.Count == 0)
        {
            sink.SetHealth(true, message);
        }
        else
        {
            var shown = string.Join("; ", problems.Take(3));
            sink.SetHealth(false, $"{message}; {problems.Count} problem(s): {shown}{(problems.Count > 3 ? "; …" : string.Empty)}");
        }
    }

    private void OnDirectoryMissing(DiscoverySink sink)
    {
        _changes.StopWatching();
        // Forget what was read, so that the folder is read and reported on afresh when it comes back.
        _files = new Dictionary<string, CachedFile>(StringComparer.Ordinal);
        if (!_readOnce && _problems is [{ File.Length: 0 }])
        {
            return; // reported already
        }

        _readOnce = false;
        KubernetesLog.ManifestDirectoryMissing(_logger, Directory);
        Report(sink, [new ManifestProblem { File = string.Empty, Reason = $"the folder '{Directory}' does not exist" }], "no folder");
    }

    private sealed record CachedFile(DateTime LastWrite, long Length, ManifestFile Content);
}
