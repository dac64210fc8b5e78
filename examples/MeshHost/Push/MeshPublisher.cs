using System.Diagnostics;
using System.Diagnostics.Metrics;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer;
using XdsServer.Cache;
using XdsServer.Discovery;

namespace MeshHost.Push;

/// <summary>A connected proxy as the debug endpoints show it.</summary>
/// <param name="Proxy">The proxy, as its node was read.</param>
/// <param name="Streams">How many of its xDS streams are open.</param>
/// <param name="Generation">The registry generation its served configuration was generated from; null before the
/// first push (or when every generation so far failed).</param>
public sealed record ConnectedProxy(Proxy Proxy, int Streams, long? Generation)
{
    /// <summary>How many configurations it was given (its first one included).</summary>
    public long Pushes { get; init; }

    /// <summary>How many pushes left it alone because nothing it sees changed.</summary>
    public long Skipped { get; init; }
}

/// <summary>
/// The push pipeline (istiod's debounce + push queue): waits for the <see cref="ServiceRegistry"/> to be ready,
/// builds a <see cref="PushContext"/> from it, and sets every connected proxy's snapshot (keyed by node id in the
/// mesh's <see cref="SnapshotCache"/>). Registry changes are debounced (<see cref="MeshPublisherOptions.QuietPeriod"/>,
/// at most <see cref="MeshPublisherOptions.MaxDelay"/>) and merged; then a new context is built from the registry state
/// that holds them, the merged changes are resolved into a <see cref="ChangeScope"/>, and only the proxies that can see
/// something of them are pushed, each only with what changed for it (<see cref="ChangeScope.For"/>: full, routes, or
/// EDS-only). A proxy that connects gets its snapshot at once from the current context, before its first request is
/// answered.
/// </summary>
/// <remarks>
/// <para>Cost: generation is O(changed): a skipped proxy costs a scope check, an EDS-only push rebuilds the
/// ClusterLoadAssignments of the changed hosts only and keeps every other resource set of the proxy's snapshot
/// (the same <see cref="ResourceSet"/> instances), and resources are shared between proxies and pushes through a
/// <see cref="ResourceCache"/> (serialized once per distinct content). What stays O(all proxies) per push is the loop
/// that asks each proxy's scope (see the remarks of <see cref="ChangeScope"/>): set lookups against memoised
/// per-namespace sets, negligible next to one generation. Building the <see cref="PushContext"/> sorts the services:
/// O(services log services) per push, as istiod's PushContext init; it is not per proxy.</para>
/// <para>With a replaced <see cref="MeshPublisherOptions.Generate"/> the scope still decides who is pushed, but a
/// pushed proxy is generated whole by it.</para>
/// <para>Secrets never enter a mesh snapshot: they are served by <c>AddWorkloadSecrets</c>' own cache for the
/// Secret type, per proven identity. A snapshot that carried secrets anyway has them removed.</para>
/// <para>A generation that throws, or a snapshot the cache refuses as inconsistent, is logged with the proxy's node
/// id, and that proxy keeps what it was last served (and is regenerated whole at the next push); the other proxies
/// are not held back.</para>
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
    private readonly PushMetrics _metrics;
    private readonly bool _cached;
    private Pushed? _current;
    private long _sequence;
    private bool _forceFull;

    /// <summary>Creates the pipeline; it starts watching the registry at once, and pushes once the host runs it.</summary>
    /// <param name="registry">The service registry discovery fills.</param>
    /// <param name="cache">The cache the mesh's snapshots are set in (grouped by node id).</param>
    /// <param name="mesh">The mesh-wide settings.</param>
    /// <param name="options">Debounce timing and the generator.</param>
    /// <param name="timeProvider">The clock of the debounce.</param>
    /// <param name="logger">Where pushes, proxies and problems are logged.</param>
    /// <param name="meterFactory">Creates the <c>MeshHost</c> meter (no instruments when null: only <see cref="Status"/> counts).</param>
    public MeshPublisher(ServiceRegistry registry, SnapshotCache cache, MeshOptions mesh, MeshPublisherOptions options,
        TimeProvider? timeProvider = null, ILogger<MeshPublisher>? logger = null, IMeterFactory? meterFactory = null)
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
        _metrics = new PushMetrics(meterFactory);
        _cached = options.Generate.Equals(MeshPublisherOptions.DefaultGenerate);
    }

    /// <summary>The pipeline's counters and its last push (<c>/debug/push_status</c>).</summary>
    public PushStatus Status => _metrics.Status;

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

        MeshHostLog.ProxyConnected(_logger, ClientText.ForLog(proxy.NodeId), proxy.Type.ToString(), ClientText.ForLog(proxy.Namespace));
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

        MeshHostLog.ProxyDisconnected(_logger, ClientText.ForLog(nodeId));
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _registry.WhenReady.WaitAsync(stoppingToken).ConfigureAwait(false);
            var started = Stopwatch.GetTimestamp();
            // The changes that made the registry ready are in the first context: take them from the watch, so they
            // do not come back as a first window.
            var registry = _registry.Current;
            using (var now = new CancellationTokenSource())
            {
                await now.CancelAsync().ConfigureAwait(false);
                try
                {
                    registry = (await _watch.NextAsync(now.Token).ConfigureAwait(false)).Snapshot;
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Nothing was pending.
                }
            }

            if (Push(new Window(null, registry, TimeSpan.Zero)) is { } first)
            {
                MeshHostLog.FirstPush(_logger, first.Context.Generation, first.Context.Services.Count,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                var window = await DebounceAsync(stoppingToken).ConfigureAwait(false);
                Push(window);
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
    /// has waited the maximum delay); returns the window's changes merged by object, with the registry state that
    /// holds them.</summary>
    private async Task<Window> DebounceAsync(CancellationToken ct)
    {
        var (changes, snapshot) = await _watch.NextAsync(ct).ConfigureAwait(false);
        var merged = new Dictionary<ObjectKey, RegistryChange>();
        void Merge(IReadOnlyList<RegistryChange> more)
        {
            foreach (var change in more)
            {
                // Scoping looks the object up in the states before and after the window: the kind of change is moot.
                merged[change.Key] = change;
            }
            _metrics.PendingChanges = merged.Count;
        }

        Merge(changes);
        var first = _time.GetTimestamp();
        while (true)
        {
            var waited = _time.GetElapsedTime(first);
            var left = _options.MaxDelay - waited;
            if (left <= TimeSpan.Zero)
            {
                return new Window(merged.Values, snapshot, waited);
            }

            var quiet = left < _options.QuietPeriod ? left : _options.QuietPeriod;
            // The wait is cancelled rather than abandoned: an abandoned NextAsync would take the next changes.
            using var timer = new CancellationTokenSource(quiet, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
            try
            {
                (changes, snapshot) = await _watch.NextAsync(linked.Token).ConfigureAwait(false);
                Merge(changes);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return new Window(merged.Values, snapshot, _time.GetElapsedTime(first));
            }
        }
    }

    /// <summary>Builds a context from the window's registry state, resolves what changed, and pushes the proxies that
    /// can see it.</summary>
    private Pushed? Push(Window window)
    {
        var started = Stopwatch.GetTimestamp();
        var previous = Volatile.Read(ref _current);
        var changed = window.Changes?.Count ?? 0;
        Pushed pushed;
        try
        {
            var context = new PushContext(window.Registry, _mesh);
            ChangeScope scope;
            if (previous is null || window.Changes is null || _forceFull)
            {
                scope = ChangeScope.Everything(previous is null ? "initial" : "full", changed);
            }
            else
            {
                scope = ChangeScope.From(window.Changes, previous.Context, context);
                CarryProblems(previous.Context, context, window.Changes);
            }

            var cache = previous?.Cache.Next(context, scope) ?? new ResourceCache(context);
            pushed = new Pushed(context, Interlocked.Increment(ref _sequence), cache, scope, previous?.Context);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            MeshHostLog.PushFailed(_logger, e);
            // The window's changes are lost to scoping: the next push regenerates everyone.
            _forceFull = true;
            return null;
        }

        _forceFull = false;
        _metrics.PendingChanges = 0;
        Volatile.Write(ref _current, pushed);
        List<Entry> entries;
        lock (_gate)
        {
            entries = [.. _proxies.Values];
        }

        // One proxy after the other: the generator is CPU-bound, and the host shares its cores with the proxies'
        // streams. A proxy that registers meanwhile is published by Register from this context already.
        int pushedCount = 0, skipped = 0, full = 0, routes = 0, endpoints = 0;
        foreach (var entry in entries)
        {
            switch (Publish(entry, pushed)?.Types)
            {
                case null:
                    break;
                case PushTypes.None:
                    skipped++;
                    break;
                case var types:
                    pushedCount++;
                    full += types.Value.HasFlag(PushTypes.Full) ? 1 : 0;
                    routes += !types.Value.HasFlag(PushTypes.Full) && types.Value.HasFlag(PushTypes.Routes) ? 1 : 0;
                    endpoints += !types.Value.HasFlag(PushTypes.Full) && types.Value.HasFlag(PushTypes.Endpoints) ? 1 : 0;
                    break;
            }
        }

        _ready.TrySetResult();
        LogNewProblems(pushed.Context, prune: true);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var reason = pushed.Scope.Full ? pushed.Scope.FullReason : string.Join(",", pushed.Scope.Kinds);
        _metrics.Pushed(new PushSummary(pushed.Sequence, pushed.Context.Generation, reason, changed, pushedCount, skipped, full, routes,
            endpoints, window.Delay.TotalMilliseconds, elapsed, _time.GetUtcNow()), pushed.Scope.Full);
        MeshHostLog.Pushed(_logger, pushed.Context.Generation, pushedCount, elapsed, changed);
        return pushed;
    }

    /// <summary>Problems are found while generating; a scoped push generates less, so the problems of the previous
    /// context whose objects did not change are carried into the new one (a changed object's are found anew when a
    /// proxy that sees it is generated).</summary>
    private static void CarryProblems(PushContext previous, PushContext next, IReadOnlyCollection<RegistryChange> changes)
    {
        var changed = changes.Select(c => c.Key).ToHashSet();
        foreach (var problem in previous.Problems)
        {
            if (!changed.Contains(problem.Key))
            {
                next.Report(problem.Key, problem.Reason);
            }
        }
    }

    /// <summary>Updates one proxy's snapshot for <paramref name="pushed"/>, unless it already has one from that
    /// context or a later one (null then); returns what was done (<see cref="PushTypes.None"/>: skipped).</summary>
    private ProxyPush? Publish(Entry entry, Pushed pushed)
    {
        lock (entry.Gate)
        {
            if (entry.Removed || entry.Applied >= pushed.Sequence)
            {
                return null;
            }

            // A scoped push is relative to the previous context: it applies only to a proxy whose configuration
            // came from exactly that one.
            var proxy = entry.Proxy;
            var push = entry.Last is null ? ProxyPush.FullFor("initial")
                : entry.NeedsFull || entry.Applied != pushed.Sequence - 1 || pushed.Before is null ? ProxyPush.FullFor(pushed.Scope.Full ? pushed.Scope.FullReason : "resync")
                : pushed.Scope.For(proxy, pushed.Before, pushed.Context);
            entry.Applied = pushed.Sequence;
            if (push.Types == PushTypes.None)
            {
                entry.Generation = pushed.Context.Generation;
                entry.Skipped++;
                _metrics.ProxySkipped();
                return push;
            }

            var nodeId = proxy.NodeId;
            var started = Stopwatch.GetTimestamp();
            Snapshot snapshot;
            try
            {
                snapshot = !_cached ? _options.Generate(pushed.Context, proxy)
                    : entry.Last is { } last ? MeshGenerator.Update(pushed.Cache, proxy, last, push)
                    : MeshGenerator.Generate(pushed.Cache, proxy);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                MeshHostLog.GenerationFailed(_logger, e, ClientText.ForLog(nodeId));
                entry.NeedsFull = true;
                return push;
            }

            if (snapshot.GetResources(TypeUrls.Secret) is { Count: > 0 })
            {
                snapshot = snapshot.ToBuilder().Exclude(TypeUrls.Secret).Build();
            }

            try
            {
                _cache.SetSnapshot(nodeId, snapshot);
                entry.Last = snapshot;
                entry.NeedsFull = false;
                entry.Generation = pushed.Context.Generation;
                entry.Pushes++;
                _metrics.ProxyPushed(push, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (InvalidSnapshotException e)
            {
                MeshHostLog.SnapshotRefused(_logger, ClientText.ForLog(nodeId), e.Result.ToString());
                entry.NeedsFull = true;
            }

            return push;
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

    /// <summary>A debounce window: its merged changes (null: unknown, push everything), the registry state that holds
    /// them, and how long its first change waited.</summary>
    private sealed record Window(IReadOnlyCollection<RegistryChange>? Changes, RegistrySnapshot Registry, TimeSpan Delay);

    private sealed record Pushed(PushContext Context, long Sequence, ResourceCache Cache, ChangeScope Scope, PushContext? Before);

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

        /// <summary>The snapshot it was last given; guarded by <see cref="Gate"/>.</summary>
        public Snapshot? Last { get; set; }

        /// <summary>Its last generation failed or was refused: the next push regenerates it whole.</summary>
        public bool NeedsFull { get; set; }

        public long Pushes { get; set; }

        public long Skipped { get; set; }

        public ConnectedProxy Describe()
        {
            lock (Gate)
            {
                return new ConnectedProxy(Proxy, Streams, Generation) { Pushes = Pushes, Skipped = Skipped };
            }
        }
    }
}
