using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Envoy.Config.Core.V3;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Cache.Internal;

namespace XdsServer.Cache;

/// <summary>
/// A cache of one <see cref="Snapshot"/> per node group. Setting a snapshot signals the subscriptions
/// (<see cref="IChangeSource"/>) of the types whose <see cref="ResourceSet"/> changed, and answers the open one-shot
/// watches of those types that need something from it; the types that did not change are not even looked at.
/// Thread-safe.
/// </summary>
/// <remarks>
/// Locks guard only bookkeeping: responses are computed and delivered outside them, and never sent by
/// the cache (docs/architecture.md, invariant 2). A snapshot stays until cleared, or until
/// <see cref="SnapshotCacheOptions.IdleSnapshotTimeout"/> passes without streams.
/// Metrics (meter <c>XdsServer.Cache</c>: <c>xds.cache.snapshots_set</c>, <c>xds.cache.snapshots_rejected</c>,
/// <c>xds.cache.watch_responses</c>) are recorded only through <see cref="SnapshotCacheOptions.MeterFactory"/>, which
/// <c>AddSnapshotCache()</c> sets to the host's; a cache made with <c>new</c> and no factory records none.
/// </remarks>
public sealed class SnapshotCache : ICache, IChangeSource, IDisposable
{
    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly SnapshotCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheMetrics _metrics;
    private readonly ITimer? _idleTimer;

    /// <summary>Creates a snapshot cache.</summary>
    /// <param name="options">Options; defaults when null.</param>
    /// <param name="timeProvider">The clock (for status times and idle expiry); the system clock when null.</param>
    /// <param name="logger">Where to log; nowhere when null.</param>
    public SnapshotCache(SnapshotCacheOptions? options = null, TimeProvider? timeProvider = null, ILogger<SnapshotCache>? logger = null)
    {
        _options = options ?? new SnapshotCacheOptions();
        ArgumentNullException.ThrowIfNull(_options.NodeHash, "options.NodeHash");
        if (_options.IdleSnapshotTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), idle, "IdleSnapshotTimeout must be positive.");
        }

        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = CacheMetrics.For(_options.MeterFactory);
        if (_options.IdleSnapshotTimeout is { } timeout)
        {
            var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, Math.Min(timeout.Ticks / 4, TimeSpan.TicksPerMinute)));
            _idleTimer = _time.CreateTimer(_ => RemoveIdleSnapshots(), null, period, period);
        }
    }

    /// <summary>Work per type URL for updates: watch evaluations and subscription signals (for tests: work that
    /// should not happen is not done).</summary>
    internal WatchEvaluations Evaluations { get; } = new();

    /// <summary>The node-to-group mapping.</summary>
    public INodeHash NodeHash => _options.NodeHash;

    /// <summary>The keys of the groups the cache holds something for (a snapshot, streams or watches).</summary>
    public IReadOnlyCollection<string> Groups => [.. _groups.Keys];

    /// <summary>
    /// Sets the snapshot of <paramref name="group"/>, signals the subscriptions of the types it changed and answers
    /// the group's watches that need something from it. Computes nothing for subscriptions: their streams do. With <see cref="SnapshotCacheOptions.RejectInvalidSnapshots"/>, an inconsistent snapshot is
    /// refused and the previous one stays.
    /// </summary>
    /// <exception cref="InvalidSnapshotException">The snapshot is inconsistent (and the cache refuses those).</exception>
    public void SetSnapshot(string group, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(snapshot);
        if (_options.RejectInvalidSnapshots)
        {
            // Every stored snapshot is valid, so only what changed since the stored one needs checking.
            TryGetSnapshot(group, out var previous);
            var result = SnapshotValidator.Validate(snapshot, previous);
            if (!result.IsValid)
            {
                _metrics.SnapshotRejected();
                CacheLog.SnapshotRejected(_logger, ClientText.ForLog(group), result);
                throw new InvalidSnapshotException(group, result);
            }
        }

        var toEvaluate = new List<(CacheWatch, ResourceSet)>();
        List<(int Order, ChangeRegistration[] Registrations)>? toSignal = null;
        Group g;
        long seq;
        while (true)
        {
            g = _groups.GetOrAdd(group, static key => new Group(key));
            lock (g.Gate)
            {
                if (g.Removed)
                {
                    continue;
                }

                var old = g.Snapshot;
                Volatile.Write(ref g.Snapshot, snapshot);
                g.LastActivity = _time.GetUtcNow();
                seq = ++g.Seq;
                foreach (var (typeUrl, watches) in g.Watches)
                {
                    // An unchanged set (same reference) cannot tell any watch something new.
                    if (snapshot.GetResources(typeUrl) is { } set && !ReferenceEquals(old?.GetResources(typeUrl), set))
                    {
                        foreach (var watch in watches)
                        {
                            toEvaluate.Add((watch, set));
                        }
                    }
                }

                foreach (var (typeUrl, registrations) in g.Registrations)
                {
                    // Same rule; a set that first exists (none before) is a change too.
                    if (snapshot.GetResources(typeUrl) is { } set && !ReferenceEquals(old?.GetResources(typeUrl), set))
                    {
                        (toSignal ??= []).Add((set.Type.AdsOrder, registrations.ToArray()));
                    }
                }
            }

            break;
        }

        _metrics.SnapshotSet();
        CacheLog.SnapshotSet(_logger, ClientText.ForLog(group), snapshot);
        // Clusters before endpoints before listeners before routes (make before break within an update).
        toSignal?.Sort(static (a, b) => a.Order.CompareTo(b.Order));
        ChangeRegistration.SignalAll(toSignal?.Select(t => t.Registrations), _logger, Evaluations);
        toEvaluate.Sort(static (a, b) => a.Item2.Type.AdsOrder.CompareTo(b.Item2.Type.AdsOrder));
        CacheWatch.EvaluateAll(toEvaluate, snapshot, () => Volatile.Read(ref g.Seq) == seq, t => CurrentSet(g, t), _logger, _metrics, Evaluations);
    }

    /// <summary>Gets the snapshot of <paramref name="group"/>, if one is set.</summary>
    public bool TryGetSnapshot(string group, [MaybeNullWhen(false)] out Snapshot snapshot)
    {
        snapshot = null;
        if (_groups.TryGetValue(group, out var g))
        {
            lock (g.Gate)
            {
                snapshot = g.Snapshot;
            }
        }

        return snapshot is not null;
    }

    /// <summary>Removes the snapshot of <paramref name="group"/>; open watches keep waiting for a new one.</summary>
    /// <returns>True when there was a snapshot.</returns>
    public bool ClearSnapshot(string group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (!_groups.TryGetValue(group, out var g))
        {
            return false;
        }

        lock (g.Gate)
        {
            var had = g.Snapshot is not null;
            Volatile.Write(ref g.Snapshot, null);
            g.Seq++;
            RemoveIfUnused(g);
            return had;
        }
    }

    /// <summary>The status of one group, or null when the cache holds nothing for it.</summary>
    public NodeStatus? GetStatus(string group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (!_groups.TryGetValue(group, out var g))
        {
            return null;
        }

        lock (g.Gate)
        {
            var versions = g.Snapshot?.ResourceSets.ToDictionary(s => s.TypeUrl, s => s.Version, StringComparer.Ordinal)
                ?? new Dictionary<string, string>();
            return new NodeStatus(g.Key, g.Node, g.Streams, g.WatchCount, g.LastRequest, versions);
        }
    }

    /// <inheritdoc />
    public IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(onResponse);
        var key = _options.NodeHash.GetGroup(request.Node);
        var typeUrl = request.TypeUrl;
        while (true)
        {
            var g = _groups.GetOrAdd(key, static k => new Group(k));
            CacheWatch watch;
            ResourceSet? set;
            Snapshot? snapshot;
            long seq;
            lock (g.Gate)
            {
                if (g.Removed)
                {
                    continue;
                }

                watch = new CacheWatch(request, onResponse, w => RemoveWatch(g, w));
                if (!g.Watches.TryGetValue(typeUrl, out var watches))
                {
                    g.Watches[typeUrl] = watches = [];
                }

                watches.Add(watch);
                g.WatchCount++;
                g.Node = request.Node;
                g.LastRequest = _time.GetUtcNow();
                snapshot = g.Snapshot;
                set = snapshot?.GetResources(typeUrl);
                seq = g.Seq;
            }

            if (set is not null)
            {
                CacheWatch.EvaluateAll([(watch, set)], snapshot, () => Volatile.Read(ref g.Seq) == seq, t => CurrentSet(g, t), _logger, _metrics, Evaluations);
            }

            return watch;
        }
    }

    /// <summary>Subscribes to the changes of one type of the node's group (see <see cref="IChangeSource"/>); the
    /// registration counts as an open watch in <see cref="GetStatus"/> until disposed or the group's last stream
    /// closes.</summary>
    /// <param name="node">The node (mapped to its group by <see cref="NodeHash"/>).</param>
    /// <param name="typeUrl">The type URL (any: a snapshot may hold any type).</param>
    /// <param name="changed">Called when the group's set of the type changes.</param>
    /// <returns>The registration (never null: every type can be signalled).</returns>
    public IChangeRegistration Subscribe(Node node, string typeUrl, Action changed)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(typeUrl);
        ArgumentNullException.ThrowIfNull(changed);
        var key = _options.NodeHash.GetGroup(node);
        while (true)
        {
            var g = _groups.GetOrAdd(key, static k => new Group(k));
            lock (g.Gate)
            {
                if (g.Removed)
                {
                    continue;
                }

                var registration = new ChangeRegistration(typeUrl, changed, t => Current(g, t), r => Unsubscribe(g, r));
                if (!g.Registrations.TryGetValue(typeUrl, out var registered))
                {
                    g.Registrations[typeUrl] = registered = new RegistrationSet();
                }

                registered.Add(registration);
                g.WatchCount++;
                g.Node = node;
                g.LastRequest = _time.GetUtcNow();
                return registration;
            }
        }
    }

    IChangeRegistration? IChangeSource.Subscribe(Node node, string typeUrl, Action changed) => Subscribe(node, typeUrl, changed);

    /// <summary>Serves every type: a snapshot may hold any type, and a watch for a type the node's snapshot lacks
    /// (or before the node has a snapshot) waits until a snapshot has it.</summary>
    /// <param name="typeUrl">The type URL asked for (any).</param>
    /// <param name="node">The node asking (any).</param>
    /// <returns>Always true.</returns>
    public bool Serves(string typeUrl, Node node) => true;

    /// <inheritdoc />
    public IDisposable TrackStream(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var key = _options.NodeHash.GetGroup(node);
        while (true)
        {
            var g = _groups.GetOrAdd(key, static k => new Group(k));
            lock (g.Gate)
            {
                if (g.Removed)
                {
                    continue;
                }

                g.Streams++;
                g.Node = node;
                return new StreamRegistration(() => ReleaseStream(g));
            }
        }
    }

    /// <inheritdoc />
    public FetchResult Fetch(FetchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = _options.NodeHash.GetGroup(request.Node);
        return TryGetSnapshot(key, out var snapshot)
            ? FetchResult.From(snapshot.GetResources(request.TypeUrl), request)
            : FetchResult.NotFound;
    }

    /// <summary>Drops the snapshots of groups idle (no open stream, no new snapshot) for longer than
    /// <see cref="SnapshotCacheOptions.IdleSnapshotTimeout"/>. Runs by itself on a timer when that is set.</summary>
    /// <returns>How many snapshots were dropped.</returns>
    public int RemoveIdleSnapshots()
    {
        if (_options.IdleSnapshotTimeout is not { } timeout)
        {
            return 0;
        }

        var now = _time.GetUtcNow();
        var dropped = 0;
        foreach (var g in _groups.Values)
        {
            lock (g.Gate)
            {
                if (g.Snapshot is null || g.Streams > 0 || now - g.LastActivity < timeout)
                {
                    continue;
                }

                Volatile.Write(ref g.Snapshot, null);
                g.Seq++;
                dropped++;
                CacheLog.IdleSnapshotDropped(_logger, ClientText.ForLog(g.Key), now - g.LastActivity);
                RemoveIfUnused(g);
            }
        }

        return dropped;
    }

    /// <summary>Stops the idle-expiry timer.</summary>
    public void Dispose() => _idleTimer?.Dispose();

    /// <summary>The group's set of a type now, read without its lock (the snapshot reference is swapped whole).</summary>
    private static (ResourceSet? Set, Snapshot? Snapshot) Current(Group g, string typeUrl)
    {
        var snapshot = Volatile.Read(ref g.Snapshot);
        return (snapshot?.GetResources(typeUrl), snapshot);
    }

    private void Unsubscribe(Group g, ChangeRegistration registration)
    {
        lock (g.Gate)
        {
            if (g.Registrations.TryGetValue(registration.TypeUrl, out var registered) && registered.Remove(registration))
            {
                g.WatchCount--;
                if (registered.Count == 0)
                {
                    g.Registrations.Remove(registration.TypeUrl);
                }

                RemoveIfUnused(g);
            }
        }
    }

    private static (ResourceSet? Set, Snapshot? Snapshot) CurrentSet(Group g, string typeUrl)
    {
        lock (g.Gate)
        {
            return (g.Snapshot?.GetResources(typeUrl), g.Snapshot);
        }
    }

    private void RemoveWatch(Group g, CacheWatch watch)
    {
        lock (g.Gate)
        {
            if (g.Watches.TryGetValue(watch.Request.TypeUrl, out var watches) && watches.Remove(watch))
            {
                g.WatchCount--;
                if (watches.Count == 0)
                {
                    g.Watches.Remove(watch.Request.TypeUrl);
                }

                RemoveIfUnused(g);
            }
        }
    }

    private void ReleaseStream(Group g)
    {
        List<CacheWatch>? orphans = null;
        lock (g.Gate)
        {
            if (--g.Streams > 0)
            {
                return;
            }

            // Node state ends with the node: its last stream closed, so its watches and status go.
            if (g.WatchCount > 0)
            {
                orphans = [.. g.Watches.Values.SelectMany(w => w)];
                g.Watches.Clear();
                g.Registrations.Clear(); // their streams closed; a late Dispose finds nothing to remove
                g.WatchCount = 0;
            }

            g.Node = null;
            g.LastRequest = null;
            g.LastActivity = _time.GetUtcNow();
            RemoveIfUnused(g);
        }

        CacheLog.GroupStreamsClosed(_logger, ClientText.ForLog(g.Key), orphans?.Count ?? 0);
        foreach (var watch in orphans ?? [])
        {
            watch.TryClaim(); // already unlinked above: just make sure it can never answer
        }
    }

    /// <summary>Forgets a group that holds nothing any more. Caller holds the group's lock.</summary>
    private void RemoveIfUnused(Group g)
    {
        if (g.Snapshot is null && g.Streams == 0 && g.WatchCount == 0 && !g.Removed)
        {
            g.Removed = true;
            _groups.TryRemove(new KeyValuePair<string, Group>(g.Key, g));
        }
    }

    private sealed class Group(string key)
    {
        public readonly Lock Gate = new();
        public readonly string Key = key;
        public readonly Dictionary<string, HashSet<CacheWatch>> Watches = new(StringComparer.Ordinal);
        // Changed under Gate; an update signals the arrays it made from them under Gate, outside the lock.
        public readonly Dictionary<string, RegistrationSet> Registrations = new(StringComparer.Ordinal);
        public Snapshot? Snapshot;
        public long Seq;
        public int WatchCount;
        public int Streams;
        public Node? Node;
        public DateTimeOffset? LastRequest;
        public DateTimeOffset LastActivity;
        public bool Removed;
    }
}
