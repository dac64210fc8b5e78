using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using XdsServer.Cache.Internal;

namespace XdsServer.Cache;

/// <summary>
/// An immutable set of resources of one type, keyed by name, with a type version. Sets built from one
/// another (<see cref="ToBuilder"/>) share structure and remember what changed between them, so updating
/// k resources of n costs O(k log n), and so does learning what changed since an earlier set.
/// </summary>
public sealed class ResourceSet : IReadOnlyCollection<XdsResource>
{
    private XdsResource[]? _sorted;
    private ChangesFrom? _lastChanges;
    private ResponseMemo? _responses;
    private HeldDigests? _heldDigests;

    internal ResourceSet(ResourceType type, ImmutableDictionary<string, XdsResource> items, ulong digestSum,
        string? explicitVersion, ChangeHistory history, long generation)
    {
        Type = type;
        Items = items;
        DigestSum = digestSum;
        ExplicitVersion = explicitVersion;
        History = history;
        Generation = generation;
        Version = explicitVersion ?? ContentDigest.Format(digestSum);
    }

    /// <summary>An empty set of <paramref name="type"/>.</summary>
    public static ResourceSet Empty(ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return new ResourceSet(type, ImmutableDictionary.Create<string, XdsResource>(StringComparer.Ordinal), 0,
            null, new ChangeHistory(), 0);
    }

    /// <summary>The resource type.</summary>
    public ResourceType Type { get; }

    /// <summary>The type URL.</summary>
    public string TypeUrl => Type.TypeUrl;

    /// <summary>
    /// The type version: given explicitly, or derived from the content (16 hex digits of the sum of the
    /// resources' digests, so it is updated in O(changed) and equal content always has an equal version).
    /// </summary>
    public string Version { get; }

    /// <summary>Number of resources.</summary>
    public int Count => Items.Count;

    /// <summary>The resource names.</summary>
    public IEnumerable<string> Names => Items.Keys;

    internal ImmutableDictionary<string, XdsResource> Items { get; }

    internal ulong DigestSum { get; }

    internal string? ExplicitVersion { get; }

    internal ChangeHistory History { get; }

    internal long Generation { get; }

    /// <summary>The answers computed against this set for clients in the same position; it lives and dies with the set.</summary>
    internal ResponseMemo Responses =>
        Volatile.Read(ref _responses) ?? Interlocked.CompareExchange(ref _responses, new ResponseMemo(), null) ?? _responses!;

    /// <summary>What a delta client subscribed as <paramref name="subscription"/> holds when it is up to date with this
    /// set (computed once per subscription name set and kept with the set).</summary>
    internal HeldDigest HeldBy(Subscription subscription) => HeldDigests.For(this, subscription);

    /// <summary>The <see cref="HeldBy"/> answer of an earlier subscription whose request listed names with the digest
    /// <paramref name="names"/>, if there was one.</summary>
    internal HeldDigest? HeldByNames(ResourceNamesDigest names) => Volatile.Read(ref _heldDigests)?.Find(names);

    private HeldDigests HeldDigests =>
        Volatile.Read(ref _heldDigests) ?? Interlocked.CompareExchange(ref _heldDigests, new HeldDigests(), null) ?? _heldDigests!;

    /// <summary>Every resource, sorted by name. Computed once per set and shared by every response that
    /// carries the whole set (a SotW wildcard Listener or Cluster response to any number of streams).</summary>
    public IReadOnlyList<XdsResource> Sorted
    {
        get
        {
            if (Volatile.Read(ref _sorted) is { } sorted)
            {
                return sorted;
            }

            var all = Items.Values.ToArray();
            Array.Sort(all, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            Volatile.Write(ref _sorted, all);
            return all;
        }
    }

    /// <summary>Looks a resource up by name.</summary>
    public bool TryGet(string name, [MaybeNullWhen(false)] out XdsResource resource) => Items.TryGetValue(name, out resource);

    /// <summary>True when a resource of that name is in the set.</summary>
    public bool Contains(string name) => Items.ContainsKey(name);

    /// <summary>Starts a builder from this set; unchanged resources are shared, not copied.</summary>
    public ResourceSetBuilder ToBuilder() => new(this);

    /// <summary>How this set differs from <paramref name="earlier"/> (everything is "added" when it is null).
    /// O(changed) when this set descends from <paramref name="earlier"/> recently; a full comparison otherwise.</summary>
    public ResourceSetDiff DiffFrom(ResourceSet? earlier)
    {
        var added = new List<string>();
        var updated = new List<string>();
        var removed = new List<string>();
        if (earlier is null)
        {
            added.AddRange(Items.Keys);
        }
        else
        {
            foreach (var name in ChangedSince(earlier) ?? FullDiff(earlier, this))
            {
                var inNew = Items.TryGetValue(name, out var now);
                var inOld = earlier.Items.TryGetValue(name, out var before);
                if (inNew && !inOld)
                {
                    added.Add(name);
                }
                else if (!inNew && inOld)
                {
                    removed.Add(name);
                }
                else if (inNew && now!.Version != before!.Version)
                {
                    updated.Add(name);
                }
            }
        }

        added.Sort(StringComparer.Ordinal);
        updated.Sort(StringComparer.Ordinal);
        removed.Sort(StringComparer.Ordinal);
        return new ResourceSetDiff(added, updated, removed);
    }

    /// <summary>The names that may differ between <paramref name="earlier"/> and this set, from the change
    /// history; null when the history cannot tell (different lineage, evicted, or a large change).</summary>
    internal IReadOnlySet<string>? ChangedSince(ResourceSet earlier)
    {
        if (ReferenceEquals(earlier, this))
        {
            return ChangeHistory.Empty;
        }

        return ReferenceEquals(earlier.History, History) && earlier.Generation <= Generation
            ? History.Collect(earlier.Generation, Generation)
            : null;
    }

    /// <summary>
    /// The names that may differ between <paramref name="earlier"/> and this set: from the change history when
    /// it can tell, else by a full comparison. The last answer is remembered, so the many watches that ask
    /// about the same pair of sets after an update (every stream of a group shares its baseline) pay once.
    /// </summary>
    internal IReadOnlySet<string> ChangesSince(ResourceSet earlier)
    {
        if (ReferenceEquals(earlier, this))
        {
            return ChangeHistory.Empty;
        }

        // Keyed by (history, generation), which names a set uniquely, rather than by the set itself: a
        // reference would keep every earlier set alive through its successor's memo.
        if (Volatile.Read(ref _lastChanges) is { } last && ReferenceEquals(last.History, earlier.History)
            && last.Generation == earlier.Generation)
        {
            return last.Names;
        }

        var names = ChangedSince(earlier) ?? FullDiff(earlier, this);
        Volatile.Write(ref _lastChanges, new ChangesFrom(earlier.History, earlier.Generation, names));
        return names;
    }

    /// <summary>Every name whose presence or version differs between two sets. O(n).</summary>
    internal static HashSet<string> FullDiff(ResourceSet a, ResourceSet b)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, resource) in b.Items)
        {
            if (!a.Items.TryGetValue(name, out var other) || (!ReferenceEquals(other, resource) && other.Version != resource.Version))
            {
                result.Add(name);
            }
        }

        foreach (var name in a.Items.Keys)
        {
            if (!b.Items.ContainsKey(name))
            {
                result.Add(name);
            }
        }

        return result;
    }

    /// <inheritdoc />
    public IEnumerator<XdsResource> GetEnumerator() => Items.Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => $"{Type.ShortName} x{Count} v{Version}";

    private sealed record ChangesFrom(ChangeHistory History, long Generation, IReadOnlySet<string> Names);
}
