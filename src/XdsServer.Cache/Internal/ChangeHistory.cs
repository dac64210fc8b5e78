namespace XdsServer.Cache.Internal;

/// <summary>
/// The recent history of one lineage of <see cref="ResourceSet"/>s (each built from the one before): which
/// names changed at each generation. It lets a watch learn what changed since the set a client last got
/// in time proportional to the change, not to the size of the set (docs/architecture.md, invariant 4).
/// </summary>
/// <remarks>
/// Bounded: it keeps the last <see cref="Capacity"/> generations, and a generation that changed more than
/// <see cref="MaxNamesPerEntry"/> names (or more than half its set) is kept only as "large"; asking across
/// an evicted or large generation answers "unknown", and the caller compares the two sets in full.
/// </remarks>
internal sealed class ChangeHistory
{
    public const int Capacity = 32;
    public const int MaxNamesPerEntry = 4096;

    private readonly Lock _gate = new();
    private readonly string[]?[] _entries = new string[]?[Capacity];
    private long _head;

    /// <summary>Records the change from generation <paramref name="parentGeneration"/> to the next one, if
    /// the parent is still the newest set of this lineage; otherwise the new set must start a new lineage.</summary>
    public bool TryAppend(long parentGeneration, string[]? changedNames, out long generation)
    {
        lock (_gate)
        {
            if (parentGeneration != _head)
            {
                generation = 0;
                return false;
            }

            generation = ++_head;
            _entries[generation % Capacity] = changedNames;
            return true;
        }
    }

    /// <summary>The names changed after <paramref name="from"/> up to and including <paramref name="to"/>,
    /// or null when that is no longer known.</summary>
    public IReadOnlySet<string>? Collect(long from, long to)
    {
        if (from >= to)
        {
            return from == to ? Empty : null;
        }

        lock (_gate)
        {
            // Generations after head - Capacity are still in the ring.
            if (to > _head || _head - from > Capacity)
            {
                return null;
            }

            var result = new HashSet<string>(StringComparer.Ordinal);
            for (var g = from + 1; g <= to; g++)
            {
                if (_entries[g % Capacity] is not { } names)
                {
                    return null;
                }

                result.UnionWith(names);
            }

            return result;
        }
    }

    public static readonly IReadOnlySet<string> Empty = new HashSet<string>();
}
