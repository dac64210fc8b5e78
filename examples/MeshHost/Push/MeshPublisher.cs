using System.Diagnostics;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Cache;
using XdsServer.Discovery;

namespace MeshHost.Push;

/// <summary>A connected proxy as the debug endpoints show it.</summary>
/// <param name="Proxy">The proxy, as its node was read.</param>
/// <param name="Streams">How many of its xDS streams are open.</param>
/// <param name="Generation">The registry generation its served configuration was generated from; null before the
/// first push (or when every generation so far failed).</param>
public sealed record ConnectedProxy(Proxy Proxy, int Streams, long? Generation);

/// <summary>
/// The push pipeline (istiod's debounce + push queue, simplified): waits for the <see cref="ServiceRegistry"/> to be
/// ready, builds a <see cref="PushContext"/> from it, and sets every connected proxy's snapshot (keyed by node id in
/// the mesh's <see cref="SnapshotCache"/>) to <see cref="MeshGenerator.Generate"/>'s output. Registry changes are
/// debounced (<see cref="MeshPublisherOptions.QuietPeriod"/>, at most <see cref="MeshPublisherOptions.MaxDelay"/>),
/// then a new context is built and every proxy regenerated. A proxy that connects gets its snapshot at once from the
/// current context, before its first request is answered.
/// </summary>
/// <remarks>
/// <para>Every proxy is regenerated on every push: the snapshot cache compares per-resource versions, so what goes
/// on the wire is O(changed), but generation itself is O(proxies × config). Making generation O(changed) (istiod's
/// ConfigsUpdated scoping: only proxies that can see a changed service, only the resource types it affects) is left
/// to a later issue; <see cref="RegistryChange"/>s are already at hand here for it.</para>
/// <para>Secrets never enter a mesh snapshot: they are served by <c>AddWorkloadSecrets</c>' own cache for the
/// Secret type, per proven identity. A snapshot that carried secrets anyway has them removed.</para>
/// <para>A generation that throws, or a snapshot the cache refuses as inconsistent, is logged with the proxy's node
/// id, and that proxy keeps what it was last served; the other proxies are not held back.</para>
/// </remarks>
public sealed class MeshPublisher : BackgroundService
{
    private readonly ServiceRegistry _registry;
    private readonly SnapshotCache _cache;
    private readonly MeshOptions _mesh;
    private readonly MeshPublisherOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RegistryWatch _watch;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _proxies = new(StringComparer.Ordinal);
    private readonly Lock _problemsGate = new();
    private readonly HashSet<ConfigProblem> _logged = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Pushed? _current;
    private long _sequence;

    /// <summary>Creates the pipeline; it starts watching the registry at once, and pushes once the host runs it.</summary>
    /// <param name="registry">The service registry discovery fills.</param>
    /// <param name="cache">The cache the mesh's snapshots are set in (grouped by node id).</param>
    /// <param name="mesh">The mesh-wide settings.</param>
    /// <param name="options">Debounce timing and the generator.</param>
    /// <param name="timeProvider">The clock of the debounce.</param>
    /// <param name="logger">Where pushes, proxies and problems are logged.</param>
    public MeshPublisher(ServiceRegistry registry, SnapshotCache cache, MeshOptions mesh, MeshPublisherOptions options,
        TimeProvider? timeProvider = null, ILogger<MeshPublisher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _registry = registry;
        _cache = cache;
        _mesh = mesh;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _watch = registry.Watch();
    }

    /// <summary>The push context proxies are being served from; null until discovery is ready and the first one is built.</summary>
    public PushContext? Current => Volatile.Read(ref _current)?.Context;

    /// <summary>Completes once the first push context is built (discovery is ready).</summary>
    public Task WhenReady => _ready.Task;

    /// <summary>Whether the first push context is built.</summary>
    public bool IsReady => _ready.Task.IsCompletedSuccessfully;

    /// <summary>The Istio objects the current context found (partly) unusable, and why.</summary>
    public IReadOnlyCollection<ConfigProblem> Problems => Current?.Problems ?? [];

    /// <summary>The connected proxies, by node id.</summary>
    public IReadOnlyList<ConnectedProxy> Proxies
    {
        get
        {
            List<Entry> entries;
            lock (_gate)
            {
                entries = [.. _proxies.Values];
            }

            return [.. entries.Select(e => e.Describe()).OrderBy(p => p.Proxy.NodeId, StringComparer.Ordinal)];
        }
    }

    /// <summary>Records a stream of <paramref name="proxy"/>; the first one of its node id gets the proxy its
    /// snapshot from the current context (when there is one yet), before this returns.</summary>
    /// <param name="proxy">The proxy the stream's node describes.</param>
    public void Register(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        Entry entry;
        lock (_gate)
        {
            if (_proxies.TryGetValue(proxy.NodeId, out var existing))
            {
                // Another stream of a node already connected (SDS next to ADS, a reconnect overlapping the old
                // stream): it is the same proxy, and keeps the proxy read from its first stream.
                existing.Streams++;
                return;
            }

            entry = new Entry(proxy);
            _proxies[proxy.NodeId] = entry;
        }

        MeshHostLog.ProxyConnected(_logger, proxy.NodeId, proxy.Type.ToString(), proxy.Namespace);
        if (Volatile.Read(ref _current) is { } pushed)
        {
            Publish(entry, pushed);
            LogNewProblems(pushed.Context);
        }
    }

    /// <summary>Records that a stream of <paramref name="nodeId"/> ended; after its last one the proxy is forgotten
    /// and its snapshot cleared.</summary>
    /// <param name="nodeId">The node id the stream registered.</param>
    public void Unregister(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        lock (_gate)
        {
            if (!_proxies.TryGetValue(nodeId, out var entry) || --entry.Streams > 0)
            {
                return;
            }

            _proxies.Remove(nodeId);
            // Under both locks: a push generating for this entry finishes first, and a new stream of the same node id
            // (which would need _gate) cannot set a snapshot that this clears.
            lock (entry.Gate)
            {
                entry.Removed = true;
                _cache.ClearSnapshot(nodeId);
            }
        }

        MeshHostLog.ProxyDisconnected(_logger, nodeId);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _registry.WhenReady.WaitAsync(stoppingToken).ConfigureAwait(false);
            var started = Stopwatch.GetTimestamp();
            if (Push(changes: 0) is { } first)
            {
                MeshHostLog.FirstPush(_logger, first.Context.Generation, first.Context.Services.Count,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                var changes = await DebounceAsync(stoppingToken).ConfigureAwait(false);
                Push(changes);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _watch.Dispose();
        }
    }

    /// <summary>Waits for a change, then until the registry has been quiet for the quiet period (or the first change
    /// has waited the maximum delay); returns how many changes were coalesced.</summary>
    private async Task<int> DebounceAsync(CancellationToken ct)
    {
        var (changes, _) = await _watch.NextAsync(ct).ConfigureAwait(false);
        var count = changes.Count;
        var first = _time.GetTimestamp();
        while (true)
        {
            var left = _options.MaxDelay - _time.GetElapsedTime(first);
            if (left <= TimeSpan.Zero)
            {
                return count;
            }

            var quiet = left < _options.QuietPeriod ? left : _options.QuietPeriod;
            // The wait is cancelled rather than abandoned: an abandoned NextAsync would take the next changes.
            using var timer = new CancellationTokenSource(quiet, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
            try
            {
                var (more, _) = await _watch.NextAsync(linked.Token).ConfigureAwait(false);
                count += more.Count;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return count;
            }
        }
    }

    /// <summary>Builds a context from the registry as it is now and regenerates every connected proxy.</summary>
    private Pushed? Push(int changes)
    {
        var started = Stopwatch.GetTimestamp();
        Pushed pushed;
        try
        {
            pushed = new Pushed(new PushContext(_registry.Current, _mesh), Interlocked.Increment(ref _sequence));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            MeshHostLog.PushFailed(_logger, e);
            return null;
        }

        Volatile.Write(ref _current, pushed);
        List<Entry> entries;
        lock (_gate)
        {
            entries = [.. _proxies.Values];
        }

        // One proxy after the other: the generator is CPU-bound, and the host shares its cores with the proxies'
        // streams. A proxy that registers meanwhile is published by Register from this context already.
        foreach (var entry in entries)
        {
            Publish(entry, pushed);
        }

        _ready.TrySetResult();
        LogNewProblems(pushed.Context, prune: true);
        MeshHostLog.Pushed(_logger, pushed.Context.Generation, entries.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, changes);
        return pushed;
    }

    /// <summary>Generates and sets one proxy's snapshot from <paramref name="pushed"/>, unless it already has one from
    /// that context or a later one.</summary>
    private void Publish(Entry entry, Pushed pushed)
    {
        lock (entry.Gate)
        {
            if (entry.Removed || entry.Applied >= pushed.Sequence)
            {
                return;
            }

            entry.Applied = pushed.Sequence;
            var nodeId = entry.Proxy.NodeId;
            Snapshot snapshot;
            try
            {
                snapshot = _options.Generate(pushed.Context, entry.Proxy);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                MeshHostLog.GenerationFailed(_logger, e, nodeId);
                return;
            }

            if (snapshot.GetResources(TypeUrls.Secret) is { Count: > 0 })
            {
                snapshot = snapshot.ToBuilder().Exclude(TypeUrls.Secret).Build();
            }

            try
            {
                _cache.SetSnapshot(nodeId, snapshot);
                entry.Generation = pushed.Context.Generation;
            }
            catch (InvalidSnapshotException e)
            {
                MeshHostLog.SnapshotRefused(_logger, nodeId, e.Result.ToString());
            }
        }
    }

    /// <summary>Logs each problem of <paramref name="context"/> not logged before; with <paramref name="prune"/>
    /// (after a full push) forgets problems that are gone, so one that comes back is logged again.</summary>
    private void LogNewProblems(PushContext context, bool prune = false)
    {
        var problems = context.Problems;
        lock (_problemsGate)
        {
            foreach (var problem in problems)
            {
                if (_logged.Add(problem))
                {
                    MeshHostLog.ConfigProblem(_logger, problem.Key, problem.Reason);
                }
            }

            if (prune)
            {
                _logged.IntersectWith(problems);
            }
        }
    }

    private sealed record Pushed(PushContext Context, long Sequence);

    private sealed class Entry(Proxy proxy)
    {
        public Lock Gate { get; } = new();

        public Proxy Proxy { get; } = proxy;

        /// <summary>Open streams; guarded by the publisher's gate.</summary>
        public int Streams { get; set; } = 1;

        /// <summary>The sequence of the last context generated from; guarded by <see cref="Gate"/>.</summary>
        public long Applied { get; set; } = -1;

        public long? Generation { get; set; }

        public bool Removed { get; set; }

        public ConnectedProxy Describe()
        {
            lock (Gate)
            {
                return new ConnectedProxy(Proxy, Streams, Generation);
            }
        }
    }
}
