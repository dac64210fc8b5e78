using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace XdsServer.Cache.Internal;

/// <summary>
/// Shares equal subscription name sets between streams. Thousands of proxies of one kind subscribe to the same
/// names (every sidecar asks for the same 1,000 load assignments), and each stream would otherwise keep its own
/// copy of the set and of the name strings parsed off its wire: ~100 KB per stream for 1,000 names. An equal
/// set seen before (and still alive somewhere) is returned instead; entries are weak, so the table never keeps a
/// set alive, and dead entries are swept as the table grows.
/// </summary>
internal static class NameSets
{
    private const int MinimumCount = 2;
    private static readonly ConcurrentDictionary<long, Entry> Table = new();
    private static readonly ConditionalWeakTable<ImmutableHashSet<string>, FrozenDictionary<string, uint>> Lookups = new();
    private static int _insertsSinceSweep;
    private static int _sweepAt = 1024;

    /// <summary>A key of a set's content, independent of order: the count and the sum of the names' hashes.</summary>
    public static long KeyOf(IEnumerable<string> names, out int count)
    {
        long sum = 0;
        count = 0;
        foreach (var name in names)
        {
            sum += HashOf(name);
            count++;
        }

        return Key(sum, count);
    }

    /// <summary>
    /// A read-optimized copy of a shared set, name → the name's <see cref="HashOf"/>, made once per set and kept as long
    /// as the set lives: a SotW ACK repeats every subscribed name (1,000 for a sidecar's load assignments), and checking
    /// each against the persistent set (a tree walk per name) was the largest cost of a SotW ACK at 10,000 proxies.
    /// Only for the set of <paramref name="key"/> once a second subscription shared it (null for any other), so that a
    /// set only one stream holds does not get a second copy.
    /// </summary>
    public static FrozenDictionary<string, uint>? LookupOf(ImmutableHashSet<string> names, long key) =>
        Table.TryGetValue(key, out var entry) && entry.Shared && entry.Set.TryGetTarget(out var shared) && ReferenceEquals(shared, names)
            ? Lookups.GetValue(names, CreateLookup)
            : null;

    private static readonly ConditionalWeakTable<ImmutableHashSet<string>, FrozenDictionary<string, uint>>.CreateValueCallback CreateLookup =
        static set => set.ToFrozenDictionary(n => n, HashOf, StringComparer.Ordinal);

    /// <summary>A name's part of a content key.</summary>
    public static uint HashOf(string name) => (uint)StringComparer.Ordinal.GetHashCode(name);

    /// <summary>The key of a set of <paramref name="count"/> names whose hashes (as unsigned) add up to <paramref name="sum"/>.</summary>
    public static long Key(long sum, int count) => (sum * 31) + count;

    /// <summary>
    /// The shared set holding exactly the names of a request (ignoring <paramref name="wildcardName"/>, which sets
    /// <paramref name="wildcard"/>), found without building a set; null when none is shared (or the request repeats
    /// a name), and the caller builds one.
    /// </summary>
    public static ImmutableHashSet<string>? Find(IReadOnlyCollection<string> requested, string wildcardName, out bool wildcard,
        out long key)
    {
        wildcard = false;
        long sum = 0;
        var count = 0;
        foreach (var name in requested)
        {
            if (name == wildcardName)
            {
                wildcard = true;
                continue;
            }

            sum += HashOf(name);
            count++;
        }

        key = Key(sum, count);
        if (count < MinimumCount || !Table.TryGetValue(key, out var entry) || !entry.Set.TryGetTarget(out var shared)
            || shared.Count != count)
        {
            return null;
        }

        // Once shared, the set has a read-optimized copy: one hash lookup per name instead of a tree walk (10,000
        // reconnecting sidecars check their 1,000 names each against the one shared set).
        var lookup = entry.Shared ? Lookups.GetValue(shared, CreateLookup) : null;
        foreach (var name in requested)
        {
            if (name != wildcardName && !(lookup?.ContainsKey(name) ?? shared.Contains(name)))
            {
                return null;
            }
        }

        // Every name is in the set and the counts match: the same set, unless the request repeats a name whose hash
        // equals that of the set's name it left out (then the subscription holds one name too many: no leak, the
        // set is the group's own names).
        entry.Shared = true;
        return shared;
    }

    /// <summary>The shared set equal to <paramref name="names"/>, or <paramref name="names"/> itself, now shared;
    /// <paramref name="key"/> is its content key.</summary>
    public static ImmutableHashSet<string> Intern(ImmutableHashSet<string> names, out long key)
    {
        key = KeyOf(names, out _);
        if (names.Count < MinimumCount)
        {
            return names;
        }

        if (Table.TryGetValue(key, out var entry) && entry.Set.TryGetTarget(out var shared))
        {
            // A different set with the same key keeps its own copy: correct, just not shared.
            if (shared.Count == names.Count && shared.SetEquals(names))
            {
                entry.Shared = true;
                return shared;
            }

            return names;
        }

        Table[key] = new Entry(names);
        if (Interlocked.Increment(ref _insertsSinceSweep) >= Volatile.Read(ref _sweepAt))
        {
            Sweep();
        }

        return names;
    }

    private static void Sweep()
    {
        Interlocked.Exchange(ref _insertsSinceSweep, 0);
        foreach (var (key, entry) in Table)
        {
            if (!entry.Set.TryGetTarget(out _))
            {
                Table.TryRemove(KeyValuePair.Create(key, entry));
            }
        }

        // Sweep again when the live entries have been inserted once more: amortized O(1) per insert.
        Volatile.Write(ref _sweepAt, Math.Max(1024, Table.Count));
    }

    /// <summary>A set in the table, and whether a second subscription was given it.</summary>
    private sealed class Entry(ImmutableHashSet<string> set)
    {
        public WeakReference<ImmutableHashSet<string>> Set { get; } = new(set);

        // Set once by any thread that hands the set to another subscription; read without a lock.
        private volatile bool _shared;

        public bool Shared
        {
            get => _shared;
            set => _shared = value;
        }
    }
}
