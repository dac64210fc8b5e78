using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Envoy.Service.Discovery.V3;

namespace XdsLoad;

/// <summary>
/// What a delta proxy holds of one type: resource name → version (interned strings). Immutable and shared by every
/// proxy that went through the same responses (<see cref="Apply"/>), so 10,000 proxies at the same state cost one
/// map, not 10,000 (at 2,200 names per proxy the per-proxy maps were most of the tool's live memory).
/// </summary>
internal sealed class DeltaHeld
{
    private readonly Dictionary<string, string> _versions;

    // Transitions from this state, by a hash of the change; each entry keeps the change itself so that a lookup is
    // confirmed exactly (a hash collision must not hand a proxy the wrong state). The table lives as long as this
    // state does: once no proxy holds it, it and its transitions are collected.
    private readonly ConcurrentDictionary<int, Transition[]> _next = new();

    // By subscribed-name array: the request that resumes this state on a new stream (built once, written by many).
    private ConditionalWeakTable<string[], DeltaDiscoveryRequest>? _resume;

    private string[]? _names;

    private DeltaHeld(int type, Dictionary<string, string> versions)
    {
        Type = type;
        _versions = versions;
    }

    private static readonly DeltaHeld[] Empties =
        [.. Enumerable.Range(0, XdsType.Count).Select(t => new DeltaHeld(t, new Dictionary<string, string>(StringComparer.Ordinal)))];

    /// <summary>Nothing held of <paramref name="type"/>.</summary>
    public static DeltaHeld Empty(int type) => Empties[type];

    /// <summary>The type (<see cref="XdsType"/>) whose resources this is.</summary>
    public int Type { get; }

    /// <summary>Name → version; never changed after this state is published.</summary>
    public IReadOnlyDictionary<string, string> Versions => _versions;

    public int Count => _versions.Count;

    public bool TryGetVersion(string name, out string? version) => _versions.TryGetValue(name, out version);

    public bool Contains(string name) => _versions.ContainsKey(name);

    /// <summary>For a Cluster or Listener state: the sorted names it leads to (EDS services, RDS route configurations),
    /// computed once per state and shared.</summary>
    public string[] Names(ResourceCatalog catalog)
    {
        var names = Volatile.Read(ref _names);
        if (names is null)
        {
            var set = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var (name, version) in _versions)
            {
                set.UnionWith(catalog.FromDelta(Type, name, version, null!).Names);
            }

            names = catalog.InternNames([.. set]);
            Volatile.Write(ref _names, names);
        }

        return names;
    }

    /// <summary>The first request of a resumed stream for this type: <paramref name="subscribed"/> names and this state
    /// as <c>initial_resource_versions</c>. Shared: callers must not change it (clone it to add the node).</summary>
    public DeltaDiscoveryRequest ResumeRequest(string[] subscribed)
    {
        if (Volatile.Read(ref _resume) is null)
        {
            Interlocked.CompareExchange(ref _resume, new ConditionalWeakTable<string[], DeltaDiscoveryRequest>(), null);
        }

        return _resume!.GetValue(subscribed, s =>
        {
            var request = new DeltaDiscoveryRequest { TypeUrl = XdsType.Urls[Type] };
            request.ResourceNamesSubscribe.Add(s);
            request.InitialResourceVersions.Add(_versions);
            return request;
        });
    }

    /// <summary>
    /// This state after a change: <paramref name="updated"/> (name → version, interned, names distinct) set and
    /// <paramref name="removed"/> names dropped. Returns this state when nothing changes, else the state every proxy
    /// applying the same change to this state gets (the same object).
    /// </summary>
    public DeltaHeld Apply(IReadOnlyList<(string Name, string Version)> updated, IReadOnlyList<string> removed)
    {
        var changes = false;
        var hash = new HashCode();
        var sum = 0;
        foreach (var (name, version) in updated)
        {
            // Order-free: the same change may list its resources in another order on another stream.
            sum += HashCode.Combine(name, version);
            changes |= !_versions.TryGetValue(name, out var had) || !string.Equals(had, version, StringComparison.Ordinal);
        }

        hash.Add(sum);
        sum = 0;
        foreach (var name in removed)
        {
            sum += name.GetHashCode(StringComparison.Ordinal);
            changes |= _versions.ContainsKey(name);
        }

        if (!changes)
        {
            return this;
        }

        hash.Add(sum);
        hash.Add(updated.Count);
        hash.Add(removed.Count);
        var key = hash.ToHashCode();
        if (_next.TryGetValue(key, out var known) && Find(known, updated, removed) is { } found)
        {
            return found;
        }

        // As a proxy applies a response: the resources first, then removed_resources.
        var versions = new Dictionary<string, string>(_versions, StringComparer.Ordinal);
        foreach (var (name, version) in updated)
        {
            versions[name] = version;
        }

        foreach (var name in removed)
        {
            versions.Remove(name);
        }

        var made = new DeltaHeld(Type, versions);
        var transition = new Transition(updated, removed, made);
        var stored = _next.AddOrUpdate(key, [transition],
            (_, list) => Find(list, updated, removed) is null ? [.. list.Where(t => t.Next is not null), transition] : list);

        // A change that never matches itself (a name listed twice) is simply not shared.
        return Find(stored, updated, removed) ?? made;
    }

    private static DeltaHeld? Find(Transition[] transitions, IReadOnlyList<(string Name, string Version)> updated, IReadOnlyList<string> removed)
    {
        foreach (var transition in transitions)
        {
            if (transition.Next is { } next && transition.Matches(updated, removed))
            {
                return next;
            }
        }

        return null;
    }

    /// <summary>One change from a state and where it leads; the change is kept to confirm a lookup exactly. Where it
    /// leads is held weakly: states no proxy holds any more are collected (a strong chain from the empty state would
    /// keep every state of a long run).</summary>
    private sealed class Transition
    {
        private readonly Dictionary<string, string> _updated;
        private readonly HashSet<string> _removed;
        private readonly int _updatedCount;
        private readonly int _removedCount;

        public Transition(IReadOnlyList<(string Name, string Version)> updated, IReadOnlyList<string> removed, DeltaHeld next)
        {
            _updated = new Dictionary<string, string>(updated.Count, StringComparer.Ordinal);
            foreach (var (name, version) in updated)
            {
                _updated[name] = version;
            }

            _removed = new HashSet<string>(removed, StringComparer.Ordinal);
            _updatedCount = updated.Count;
            _removedCount = removed.Count;
            _next = new WeakReference<DeltaHeld>(next);
        }

        private readonly WeakReference<DeltaHeld> _next;

        public DeltaHeld? Next => _next.TryGetTarget(out var next) ? next : null;

        public bool Matches(IReadOnlyList<(string Name, string Version)> updated, IReadOnlyList<string> removed)
        {
            if (updated.Count != _updatedCount || removed.Count != _removedCount || _updated.Count != _updatedCount || _removed.Count != _removedCount)
            {
                return false;
            }

            foreach (var (name, version) in updated)
            {
                if (!_updated.TryGetValue(name, out var had) || !string.Equals(had, version, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            foreach (var name in removed)
            {
                if (!_removed.Contains(name))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
