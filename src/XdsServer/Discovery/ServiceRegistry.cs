using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace XdsServer.Discovery;

/// <summary>
/// The services, endpoints, workloads and configuration that discovery sources found, merged: what a host turns
/// into Envoy resources. Sources write through their own <see cref="DiscoverySink"/>; each object belongs to the
/// source that wrote it first, and a source only ever replaces or removes its own. Readers take an immutable
/// <see cref="Current"/> snapshot, or a <see cref="Watch"/> that hands them exactly what changed since they last
/// looked, coalesced by object.
/// </summary>
/// <remarks>Writes are serialized by one lock and cost O(changed × log n); watchers are woken outside it.</remarks>
public sealed class ServiceRegistry
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SourceState> _sources = new(StringComparer.Ordinal);
    private readonly Dictionary<ObjectKey, string> _owners = [];
    private readonly List<RegistryWatch> _watches = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private RegistrySnapshot _current = RegistrySnapshot.Empty;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="timeProvider">The clock for source status times.</param>
    /// <param name="logger">Where conflicts between sources are logged.</param>
    public ServiceRegistry(TimeProvider? timeProvider = null, ILogger<ServiceRegistry>? logger = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The registry now.</summary>
    public RegistrySnapshot Current => Volatile.Read(ref _current);

    /// <summary>True once every source opened so far has loaded its initial state (and at least one was opened).</summary>
    public bool IsReady
    {
        get
        {
            lock (_lock)
            {
                return _sources.Count > 0 && _sources.Values.All(s => s.Ready);
            }
        }
    }

    /// <summary>Completes when the registry first becomes <see cref="IsReady"/>.</summary>
    public Task WhenReady => _ready.Task;

    /// <summary>The state of every source: ready, healthy, and why not.</summary>
    public IReadOnlyList<DiscoverySourceStatus> Sources
    {
        get
        {
            lock (_lock)
            {
                return [.. _sources.Values.Select(s => s.Status).OrderBy(s => s.Name, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Opens the sink a source writes through. Until the source says it is ready, the registry is not.</summary>
    /// <param name="source">The source's name, unique in this registry.</param>
    /// <returns>The sink.</returns>
    /// <exception cref="InvalidOperationException">A source of that name is open already.</exception>
    public DiscoverySink OpenSink(string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        lock (_lock)
        {
            if (_sources.ContainsKey(source))
            {
                throw new InvalidOperationException($"A discovery source named '{source}' already writes to this registry.");
            }

            _sources[source] = new SourceState(new DiscoverySourceStatus(source, false, true, "loading", _time.GetUtcNow()), []);
        }

        return new DiscoverySink(this, source);
    }

    /// <summary>Starts watching: the watch collects the keys of objects that change from now on.</summary>
    /// <returns>The watch; dispose it to stop.</returns>
    public RegistryWatch Watch()
    {
        var watch = new RegistryWatch(this);
        lock (_lock)
        {
            _watches.Add(watch);
        }

        return watch;
    }

    internal void Unwatch(RegistryWatch watch)
    {
        lock (_lock)
        {
            _watches.Remove(watch);
        }
    }

    internal IReadOnlyList<RegistryChange> Apply(string source, IEnumerable<RegistryObject> upserts, IEnumerable<ObjectKey> removals)
    {
        // Checked before anything is touched, so a bad batch changes nothing.
        var items = upserts.ToList();
        var keys = removals.ToList();
        if (items.Contains(null!) || keys.Contains(null!))
        {
            throw new ArgumentException("A batch cannot hold null objects or keys.");
        }

        List<RegistryChange> changes = [];
        List<RegistryWatch> watches;
        lock (_lock)
        {
            var state = _sources[source];
            var builder = new Builder(_current);
            foreach (var item in items)
            {
                if (Upsert(source, state, builder, item) is { } change)
                {
                    changes.Add(change);
                }
            }

            foreach (var key in keys)
            {
                if (Remove(source, state, builder, key) is { } change)
                {
                    changes.Add(change);
                }
            }

            watches = Publish(builder, changes);
        }

        Notify(watches, changes);
        return changes;
    }

    internal IReadOnlyList<RegistryChange> Replace(string source, IReadOnlySet<string> kinds, IEnumerable<RegistryObject> objects)
    {
        var items = objects.ToList();
        foreach (var item in items)
        {
            if (item is null || !kinds.Contains(item.Key.Kind))
            {
                throw new ArgumentException($"{item?.Key.ToString() ?? "null"} is not of the kinds being replaced ({string.Join(", ", kinds)}).", nameof(objects));
            }
        }

        List<RegistryChange> changes = [];
        List<RegistryWatch> watches;
        lock (_lock)
        {
            var state = _sources[source];
            var builder = new Builder(_current);
            var seen = new HashSet<ObjectKey>();
            foreach (var item in items)
            {
                seen.Add(item.Key);
                if (Upsert(source, state, builder, item) is { } change)
                {
                    changes.Add(change);
                }
            }

            // Only what really went away is removed: a relist emits differences, not a delete-then-add storm.
            foreach (var key in state.Owned.Where(k => kinds.Contains(k.Kind) && !seen.Contains(k)).ToList())
            {
                if (Remove(source, state, builder, key) is { } change)
                {
                    changes.Add(change);
                }
            }

            watches = Publish(builder, changes);
        }

        Notify(watches, changes);
        return changes;
    }

    internal void SetStatus(string source, bool? ready, bool healthy, string message)
    {
        var becameReady = false;
        lock (_lock)
        {
            var state = _sources[source];
            var status = state.Status;
            _sources[source] = state with
            {
                Status = status with
                {
                    Ready = ready ?? status.Ready,
                    Healthy = healthy,
                    Message = message,
                    Since = status.Healthy == healthy && status.Ready == (ready ?? status.Ready) ? status.Since : _time.GetUtcNow(),
                },
            };
            becameReady = _sources.Values.All(s => s.Ready);
        }

        if (becameReady)
        {
            _ready.TrySetResult();
        }
    }

    internal void Close(string source)
    {
        lock (_lock)
        {
            _sources.Remove(source);
        }
    }

    private RegistryChange? Upsert(string source, SourceState state, Builder builder, RegistryObject item)
    {
        var key = item.Key;
        if (_owners.TryGetValue(key, out var owner) && !string.Equals(owner, source, StringComparison.Ordinal))
        {
            DiscoveryLog.Conflict(_logger, key.ToString(), source, owner);
            return null;
        }

        var previous = builder.Objects.GetValueOrDefault(key);
        if (previous is not null && previous.ResourceVersion == item.ResourceVersion && previous.GetType() == item.GetType())
        {
            return null; // same version, same content
        }

        builder.Put(previous, item);
        _owners[key] = source;
        state.Owned.Add(key);
        return new RegistryChange(key, previous is null ? RegistryChangeKind.Added : RegistryChangeKind.Updated, source);
    }

    private RegistryChange? Remove(string source, SourceState state, Builder builder, ObjectKey key)
    {
        if (!state.Owned.Remove(key))
        {
            return null;
        }

        _owners.Remove(key);
        builder.Delete(builder.Objects[key]);
        return new RegistryChange(key, RegistryChangeKind.Removed, source);
    }

    private List<RegistryWatch> Publish(Builder builder, List<RegistryChange> changes)
    {
        if (changes.Count == 0)
        {
            return [];
        }

        Volatile.Write(ref _current, builder.Build(_current.Generation + 1));
        return [.. _watches];
    }

    private static void Notify(List<RegistryWatch> watches, List<RegistryChange> changes)
    {
        foreach (var watch in watches)
        {
            watch.Add(changes);
        }
    }

    private sealed record SourceState(DiscoverySourceStatus Status, HashSet<ObjectKey> Owned)
    {
        public bool Ready => Status.Ready;
    }

    /// <summary>Accumulates one write's changes to the immutable maps and their indexes.</summary>
    private sealed class Builder(RegistrySnapshot from)
    {
        private readonly ImmutableDictionary<ObjectKey, RegistryObject>.Builder _objects = from.Objects.ToBuilder();
        private readonly ImmutableDictionary<string, ImmutableHashSet<ObjectKey>>.Builder _byKind = from.ByKind.ToBuilder();
        private readonly ImmutableDictionary<ObjectKey, ImmutableHashSet<ObjectKey>>.Builder _groups = from.EndpointGroups.ToBuilder();
        private readonly ImmutableDictionary<string, ImmutableHashSet<ObjectKey>>.Builder _workloads = from.WorkloadsByAddress.ToBuilder();

        public ImmutableDictionary<ObjectKey, RegistryObject>.Builder Objects => _objects;

        public void Put(RegistryObject? previous, RegistryObject item)
        {
            if (previous is not null)
            {
                Unindex(previous);
            }

            _objects[item.Key] = item;
            Index(item);
        }

        public void Delete(RegistryObject item)
        {
            _objects.Remove(item.Key);
            Unindex(item);
        }

        public RegistrySnapshot Build(long generation) =>
            new(_objects.ToImmutable(), _byKind.ToImmutable(), _groups.ToImmutable(), _workloads.ToImmutable(), generation);

        private void Index(RegistryObject item)
        {
            AddTo(_byKind, item.Key.Kind, item.Key);
            switch (item)
            {
                case EndpointGroup group:
                    AddTo(_groups, group.Service, item.Key);
                    break;
                case Workload workload:
                    foreach (var address in workload.Addresses)
                    {
                        AddTo(_workloads, address, item.Key);
                    }

                    break;
            }
        }

        private void Unindex(RegistryObject item)
        {
            RemoveFrom(_byKind, item.Key.Kind, item.Key);
            switch (item)
            {
                case EndpointGroup group:
                    RemoveFrom(_groups, group.Service, item.Key);
                    break;
                case Workload workload:
                    foreach (var address in workload.Addresses)
                    {
                        RemoveFrom(_workloads, address, item.Key);
                    }

                    break;
            }
        }

        private static void AddTo<TKey>(ImmutableDictionary<TKey, ImmutableHashSet<ObjectKey>>.Builder index, TKey key, ObjectKey value)
            where TKey : notnull =>
            index[key] = (index.TryGetValue(key, out var set) ? set : []).Add(value);

        private static void RemoveFrom<TKey>(ImmutableDictionary<TKey, ImmutableHashSet<ObjectKey>>.Builder index, TKey key, ObjectKey value)
            where TKey : notnull
        {
            if (index.TryGetValue(key, out var set))
            {
                set = set.Remove(value);
                if (set.IsEmpty)
                {
                    index.Remove(key);
                }
                else
                {
                    index[key] = set;
                }
            }
        }
    }
}

/// <summary>What the registry knows of one source.</summary>
/// <param name="Name">The source's name.</param>
/// <param name="Ready">Whether it has loaded its initial state.</param>
/// <param name="Healthy">Whether it is keeping up (false while it cannot reach its backend, or has bad input).</param>
/// <param name="Message">What it last said about itself.</param>
/// <param name="Since">When Ready or Healthy last changed.</param>
public sealed record DiscoverySourceStatus(string Name, bool Ready, bool Healthy, string Message, DateTimeOffset Since);
