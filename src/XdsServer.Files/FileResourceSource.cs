using Envoy.Config.Core.V3;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using XdsServer.Cache;

namespace XdsServer.Files;

/// <summary>
/// Serves the Envoy resources of a folder: every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> file holds one
/// resource in the proto3 JSON mapping with <c>"@type"</c>, or <c>{"resources": [ … ]}</c> (YAML files may also
/// hold several <c>---</c> documents). All of them form one <see cref="Snapshot"/>, published to a
/// <see cref="SnapshotCache"/> under <see cref="FileResourceOptions.Group"/>. Changes are picked up from
/// file-system notifications (debounced) and a cheap periodic rescan, and published within a second.
/// </summary>
/// <remarks>
/// <para>The folder is published whole or not at all: while any file fails to parse, two files define the same
/// resource, or the resources are inconsistent (a dangling reference, refused by the cache), the last good
/// snapshot stays served and <see cref="Status"/> lists every problem by file.</para>
/// <para>Work is proportional to what changed: an unchanged file (same last-write time and length) is not read
/// again, its resources are not serialized again, and the next snapshot is derived from the served one
/// (<see cref="Snapshot.ToBuilder"/>) touching only the resources of changed files.</para>
/// <para>Listeners and clusters are always carried (empty when the folder has none) so that wildcard LDS/CDS
/// subscribers get an answer; any other type is carried from the first time a file defines one, and stays
/// (empty) after its last resource goes, so clients learn of the removal.</para>
/// </remarks>
public sealed class FileResourceSource : IHostedService, IAsyncDisposable
{
    private readonly SnapshotCache _cache;
    private readonly ResourceTypeRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _debounce;
    private readonly TimeSpan _rescan;
    private readonly bool _recursive;
    private readonly FolderChanges _changes;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _changed = new();
    private FileResourceStatus _status;
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    // Guarded by _gate.
    private Dictionary<string, ResourceFile> _files = new(StringComparer.Ordinal); // as last read
    private Dictionary<string, ResourceFile> _publishedFiles = new(StringComparer.Ordinal); // behind _published
    private Snapshot? _published;
    private bool _readOnce;
    private bool _directoryMissing;
    private int _disposed;

    /// <summary>Creates a source; it does nothing until <see cref="StartAsync"/> (or <see cref="ReloadAsync"/>).</summary>
    /// <param name="options">The folder, group and timings.</param>
    /// <param name="cache">The cache to publish to. It should refuse inconsistent snapshots (the default,
    /// <see cref="SnapshotCacheOptions.RejectInvalidSnapshots"/>): that is how an inconsistent folder is detected.</param>
    /// <param name="registry">The resource types a file may hold; <see cref="ResourceTypeRegistry.Default"/> when null.</param>
    /// <param name="timeProvider">The clock for debounce, rescans and status times; the system clock when null.</param>
    /// <param name="logger">Where to log; nowhere when null.</param>
    /// <exception cref="ArgumentException">The options are incomplete or out of range.</exception>
    public FileResourceSource(FileResourceOptions options, SnapshotCache cache, ResourceTypeRegistry? registry = null,
        TimeProvider? timeProvider = null, ILogger<FileResourceSource>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cache);
        options.Validate();
        Directory = Path.GetFullPath(options.Directory);
        Group = options.Group;
        _debounce = options.Debounce;
        _rescan = options.RescanInterval;
        _recursive = options.IncludeSubdirectories;
        _cache = cache;
        _registry = registry ?? ResourceTypeRegistry.Default;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _status = new FileResourceStatus { Directory = Directory, Group = Group };
        _changes = new FolderChanges(Directory, _recursive, _debounce, _time,
            reason => FileResourceLog.WatcherUnavailable(_logger, Directory, reason));
    }

    /// <summary>The folder, as a full path.</summary>
    public string Directory { get; }

    /// <summary>The node group the folder is published under.</summary>
    public string Group { get; }

    /// <summary>The current status: whether the folder is loaded, when, how many resources, and every problem by file.</summary>
    public FileResourceStatus Status => Volatile.Read(ref _status);

    /// <summary>The snapshot this source last published (the one served), or null before the first good load.</summary>
    public Snapshot? Snapshot => Volatile.Read(ref _published);

    /// <summary>Completes when the folder has been published for the first time (for readiness checks).
    /// Never faults; it stays pending while the folder has not loaded.</summary>
    public Task WhenLoaded => _loaded.Task;

    /// <summary>A token that fires at the next change of <see cref="Status"/> (a publish, or new problems).
    /// Take a token, then read <see cref="Status"/>, to miss nothing.</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    /// <summary>Starts watching the folder; the first read happens at once, in the background.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The file resource source is already started.");
        }

        FileResourceLog.Watching(_logger, Directory, Group, _debounce, _rescan);
        if (_cache.NodeHash.GetGroup(new Node { Id = "any-node", Cluster = "any-cluster" }) != Group)
        {
            FileResourceLog.GroupNotForAllNodes(_logger, Group, Directory);
        }

        _stopping = new CancellationTokenSource();
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops watching. The published snapshot stays in the cache.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loop is null || _stopping is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the folder now (what changed since the last read) and publishes it if it is good.
    /// Useful after writing files when waiting for the watcher is not wanted; the watcher calls the same.</summary>
    /// <returns>The status after the read.</returns>
    public async Task<FileResourceStatus> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ReadFolder();
        }
        finally
        {
            _gate.Release();
        }

        return Status;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per registration that resolves it (keyed, plain, hosted service).
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _changes.Dispose();
        _stopping?.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                try
                {
                    await ReloadAsync(stopping).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A bug must not end the watch: report it, keep serving, try again at the next change.
                    FileResourceLog.ReadFailed(_logger, e, Directory);
                }

                // A change, or the rescan interval passed: the read compares identities, so it is cheap when nothing changed.
                await _changes.WaitAsync(_rescan, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads what changed and publishes the folder if it is good. Runs under <see cref="_gate"/>.</summary>
    private void ReadFolder()
    {
        try
        {
            if (!System.IO.Directory.Exists(Directory))
            {
                OnDirectoryMissing();
                return;
            }

            _directoryMissing = false;
            _changes.EnsureWatching();
            var files = new Dictionary<string, ResourceFile>(_files.Count, StringComparer.Ordinal);
            var changed = !_readOnce;
            int parsed = 0, reused = 0;
            foreach (var (fullPath, relativePath, lastWrite, length) in _changes.Files(ResourceFile.IsResourceFileName))
            {
                if (_files.TryGetValue(relativePath, out var file) && file.IsSameVersion(lastWrite, length))
                {
                    reused++;
                }
                else
                {
                    try
                    {
                        file = ResourceFile.Read(fullPath, relativePath, lastWrite, length, _registry);
                    }
                    catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                    {
                        continue; // deleted between listing and reading: the deletion has its own notification
                    }

                    parsed++;
                }

                files.Add(relativePath, file);
                changed |= !_files.TryGetValue(relativePath, out var before) || !ReferenceEquals(before, file);
            }

            changed |= files.Count != _files.Count;
            _files = files;
            _readOnce = true;
            if (!changed)
            {
                return; // the folder is exactly what was last read (and reported on)
            }

            FileResourceLog.Read(_logger, Directory, parsed, reused);
            Publish(files);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The folder itself cannot be listed (or a bug): report it, keep serving the last good snapshot, and
            // read everything afresh next time.
            FileResourceLog.ReadFailed(_logger, e, Directory);
            _readOnce = false;
            Fail([new FileResourceError(string.Empty, $"the folder cannot be read: {e.Message}")]);
        }
    }

    /// <summary>Builds the next snapshot from the served one, touching only the resources of changed files, and
    /// publishes it; or reports every problem and keeps the served one.</summary>
    private void Publish(Dictionary<string, ResourceFile> files)
    {
        var errors = new List<FileResourceError>();
        var owners = new Dictionary<(string TypeUrl, string Name), (string File, SourcePosition Position)>();
        foreach (var (path, file) in files)
        {
            if (file.Error is not null)
            {
                errors.Add(file.Error);
                continue;
            }

            foreach (var (resource, position) in file.Resources)
            {
                if (owners.TryGetValue((resource.TypeUrl, resource.Name), out var owner))
                {
                    errors.Add(new FileResourceError(path,
                        $"{resource.Type.ShortName} '{resource.Name}' is defined in both '{owner.File}' (line {owner.Position.Line}) and '{path}'")
                    {
                        Line = position.Line,
                        Column = position.Column,
                    });
                }
                else
                {
                    owners.Add((resource.TypeUrl, resource.Name), (path, position));
                }
            }
        }

        if (errors.Count > 0)
        {
            Fail(errors);
            return;
        }

        var builder = (_published ?? Cache.Snapshot.CreateBuilder(_registry).Build()).ToBuilder();
        foreach (var always in new[] { TypeUrls.Listener, TypeUrls.Cluster })
        {
            if (_registry.TryGet(always, out _))
            {
                builder.Include(always);
            }
        }

        foreach (var (path, file) in files)
        {
            if (_publishedFiles.TryGetValue(path, out var before) && ReferenceEquals(before, file))
            {
                continue; // unchanged: its resources are in the served snapshot already
            }

            foreach (var (resource, _) in file.Resources)
            {
                builder.Set(resource); // the same version as the served one changes nothing
            }

            RemoveGone(builder, before, owners);
        }

        foreach (var (path, before) in _publishedFiles)
        {
            if (!files.ContainsKey(path))
            {
                RemoveGone(builder, before, owners);
            }
        }

        var next = builder.Build();
        try
        {
            _cache.SetSnapshot(Group, next);
        }
        catch (InvalidSnapshotException e)
        {
            // Inconsistent as a whole (a dangling reference): name the file of each resource at fault.
            Fail([.. e.Result.Problems.Select(p => owners.TryGetValue((p.TypeUrl, p.ResourceName), out var owner)
                ? new FileResourceError(owner.File, p.Message) { Line = owner.Position.Line, Column = owner.Position.Column }
                : new FileResourceError(string.Empty, p.Message))]);
            return;
        }

        Volatile.Write(ref _published, next);
        _publishedFiles = files;
        var now = _time.GetUtcNow();
        SetStatus(new FileResourceStatus
        {
            Directory = Directory,
            Group = Group,
            LastLoadedAt = now,
            LastReadAt = now,
            ResourceCount = next.Count,
            FileCount = files.Count,
        });
        FileResourceLog.Loaded(_logger, next.Count, files.Count, Directory, Group, next);
        _loaded.TrySetResult();
    }

    /// <summary>Removes the resources an earlier version of a file held that no file holds any more (one that
    /// moved to another file stays).</summary>
    private static void RemoveGone(SnapshotBuilder builder, ResourceFile? before, Dictionary<(string, string), (string, SourcePosition)> owners)
    {
        foreach (var (resource, _) in before?.Resources ?? [])
        {
            if (!owners.ContainsKey((resource.TypeUrl, resource.Name)))
            {
                builder.Remove(resource.TypeUrl, resource.Name);
            }
        }
    }

    private void Fail(List<FileResourceError> errors)
    {
        foreach (var error in errors)
        {
            if (error.Line is { } line)
            {
                FileResourceLog.FileRejectedAt(_logger, error.File, line, error.Column ?? 1, Directory, error.Reason);
            }
            else
            {
                FileResourceLog.FileRejected(_logger, error.File.Length == 0 ? "." : error.File, Directory, error.Reason);
            }
        }

        FileResourceLog.KeptLastGood(_logger, Directory, errors.Count, Group);
        SetStatus(Status with { Errors = errors, LastReadAt = _time.GetUtcNow() });
    }

    private void OnDirectoryMissing()
    {
        _changes.StopWatching();
        // Forget what was read, so that the folder is read and reported on afresh when it comes back.
        _files = new Dictionary<string, ResourceFile>(StringComparer.Ordinal);
        _readOnce = false;
        if (_directoryMissing)
        {
            return;
        }

        _directoryMissing = true;
        FileResourceLog.DirectoryMissing(_logger, Directory);
        SetStatus(Status with
        {
            Errors = [new FileResourceError(string.Empty, $"the folder '{Directory}' does not exist")],
            LastReadAt = _time.GetUtcNow(),
        });
    }

    private void SetStatus(FileResourceStatus status)
    {
        Volatile.Write(ref _status, status);
        // Swap then fire, so that whoever reacts and takes a new token waits for the next change.
        Interlocked.Exchange(ref _changed, new CancellationTokenSource()).Cancel();
    }
}
