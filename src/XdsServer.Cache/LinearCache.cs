using System.Diagnostics.Metrics;
using Envoy.Config.Core.V3;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Cache.Internal;

namespace XdsServer.Cache;

/// <summary>
/// A cache of one resource type shared by every node, updated resource by resource (the usual home of
/// endpoints or secrets that change often). Each update costs O(changed · log n), signals the subscriptions
/// (<see cref="IChangeSource"/>) and answers the open one-shot watches. Thread-safe; serialization happens outside
/// its lock.
/// </summary>
public sealed class LinearCache : ICache, IChangeSource
{
    private readonly Lock _gate = new();
    private readonly HashSet<CacheWatch> _watches = [];
    // Changed under _gate; an update signals the array it made from it under _gate, outside the lock.
    private readonly RegistrationSet _registrations = new();
    private readonly ILogger _logger;
    private readonly CacheMetrics _metrics;
    private ResourceSet _current;
    private long _seq;
    private int _streams;

    /// <summary>Creates an empty cache of <paramref name="type"/> that records no metrics.</summary>
    /// <param name="type">The resource type.</param>
    /// <param name="logger">Where to log; nowhere when null.</param>
    public LinearCache(ResourceType type, ILogger<LinearCache>? logger = null)
        : this(type, logger, meterFactory: null)
    {
    }

    /// <summary>Creates an empty cache of <paramref name="type"/>.</summary>
    /// <param name="type">The resource type.</param>
    /// <param name="logger">Where to log; nowhere when null.</param>
    /// <param name="meterFactory">Makes the meter <c>XdsServer.Cache</c> (watches answered); null records no metrics
    /// (there is no process-wide meter). <c>AddLinearCache(type)</c> passes the host's.</param>
    public LinearCache(ResourceType type, ILogger<LinearCache>? logger, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(type);
        _current = ResourceSet.Empty(type);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = CacheMetrics.For(meterFactory);
    }

    /// <summary>The resource type.</summary>
    public ResourceType Type => _current.Type;

    /// <summary>The current resources.</summary>
    public ResourceSet Resources => Volatile.Read(ref _current);

    /// <summary>The current type version.</summary>
    public string Version => Resources.Version;

    /// <summary>Open streams counted through <see cref="TrackStream"/>.</summary>
    public int OpenStreams => Volatile.Read(ref _streams);

    /// <summary>Watches waiting for a change (one-shot watches and subscriptions).</summary>
    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count + _registrations.Count;
            }
        }
    }

    /// <summary>Adds or replaces one resource.</summary>
    public void UpdateResource(IMessage message) => Update([XdsResource.Create(Type, message)], []);

    /// <summary>Adds or replaces one resource.</summary>
    public void UpdateResource(XdsResource resource) => Update([resource], []);

    /// <summary>Deletes one resource; returns false when there was none.</summary>
    public bool DeleteResource(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Update([], [name]) > 0;
    }

    /// <summary>Applies a batch of updates and deletions as one version.</summary>
    public void UpdateResources(IEnumerable<IMessage> toUpdate, IEnumerable<string> toDelete)
    {
        ArgumentNullException.ThrowIfNull(toUpdate);
        Update([.. toUpdate.Select(m => XdsResource.Create(Type, m))], [.. toDelete ?? []]);
    }

    /// <summary>Replaces the whole content: resources not given are deleted.</summary>
    public void SetResources(IEnumerable<IMessage> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var created = resources.Select(m => XdsResource.Create(Type, m)).ToList();
        var keep = created.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        Update(created, [.. Resources.Names.Where(n => !keep.Contains(n))]);
    }

    /// <inheritdoc />
    public IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(onResponse);
        CheckType(request.TypeUrl);
        CacheWatch watch;
        ResourceSet set;
        long seq;
        lock (_gate)
        {
            watch = new CacheWatch(request, onResponse, RemoveWatch);
            _watches.Add(watch);
            set = _current;
            seq = _seq;
        }

        CacheWatch.EvaluateAll([(watch, set)], null, () => Volatile.Read(ref _seq) == seq, _ => (Resources, null), _logger, _metrics);
        return watch;
    }

    /// <summary>Subscribes to the changes of the cache's type (see <see cref="IChangeSource"/>); every node
    /// shares the one set.</summary>
    /// <param name="node">The node (not used).</param>
    /// <param name="typeUrl">The type URL: <see cref="Type"/>'s.</param>
    /// <param name="changed">Called after each update that changed the set.</param>
    /// <returns>The registration (never null).</returns>
    /// <exception cref="ArgumentException"><paramref name="typeUrl"/> is not the cache's type.</exception>
    public IChangeRegistration Subscribe(Node node, string typeUrl, Action changed)
    {
        ArgumentNullException.ThrowIfNull(typeUrl);
        ArgumentNullException.ThrowIfNull(changed);
        CheckType(typeUrl);
        var registration = new ChangeRegistration(typeUrl, changed, _ => (Resources, null), Unsubscribe);
        lock (_gate)
        {
            _registrations.Add(registration);
        }

        return registration;
    }

    IChangeRegistration? IChangeSource.Subscribe(Node node, string typeUrl, Action changed) => Subscribe(node, typeUrl, changed);

    /// <summary>Serves its one type (<see cref="Type"/>), to every node.</summary>
    /// <param name="typeUrl">The type URL asked for.</param>
    /// <param name="node">The node asking (not used: a linear cache serves every node alike).</param>
    /// <returns>True for <see cref="Type"/>'s URL only.</returns>
    public bool Serves(string typeUrl, Node node) => string.Equals(typeUrl, Type.TypeUrl, StringComparison.Ordinal);

    /// <inheritdoc />
    public IDisposable TrackStream(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        Interlocked.Increment(ref _streams);
        return new StreamRegistration(() => Interlocked.Decrement(ref _streams));
    }

    /// <inheritdoc />
    public FetchResult Fetch(FetchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckType(request.TypeUrl);
        return FetchResult.From(Resources, request);
    }

    private int Update(List<XdsResource> updates, List<string> deletes)
    {
        foreach (var resource in updates)
        {
            if (resource.TypeUrl != Type.TypeUrl)
            {
                throw new ArgumentException($"{resource} cannot go into a LinearCache of {Type.ShortName}.", nameof(updates));
            }
        }

        List<(CacheWatch, ResourceSet)> toEvaluate;
        ChangeRegistration[] toSignal;
        long seq;
        var deleted = 0;
        lock (_gate)
        {
            var builder = _current.ToBuilder();
            foreach (var resource in updates)
            {
                builder.Set(resource);
            }

            foreach (var name in deletes)
            {
                deleted += builder.Remove(name) ? 1 : 0;
            }

            var next = builder.Build();
            if (ReferenceEquals(next, _current))
            {
                return deleted;
            }

            Volatile.Write(ref _current, next);
            seq = ++_seq;
            toEvaluate = [.. _watches.Select(w => (w, next))];
            toSignal = _registrations.ToArray();
        }

        CacheLog.LinearUpdated(_logger, Type.TypeUrl, updates.Count, deleted, Version);
        ChangeRegistration.SignalAll([toSignal], _logger);
        CacheWatch.EvaluateAll(toEvaluate, null, () => Volatile.Read(ref _seq) == seq, _ => (Resources, null), _logger, _metrics);
        return deleted;
    }

    private void Unsubscribe(ChangeRegistration registration)
    {
        lock (_gate)
        {
            _registrations.Remove(registration);
        }
    }

    private void RemoveWatch(CacheWatch watch)
    {
        lock (_gate)
        {
            _watches.Remove(watch);
        }
    }

    private void CheckType(string typeUrl)
    {
        if (typeUrl != Type.TypeUrl)
        {
            throw new ArgumentException($"This LinearCache serves {Type.TypeUrl}, not '{typeUrl}'.", nameof(typeUrl));
        }
    }
}
