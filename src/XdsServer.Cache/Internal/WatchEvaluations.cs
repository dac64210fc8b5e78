using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace XdsServer.Cache.Internal;

/// <summary>
/// Counts watch evaluations (one response computation for one watch) per type URL, so tests can prove that
/// work which should not happen does not: a snapshot that changes only endpoints evaluates no listener or
/// cluster watch. One dictionary read and one interlocked increment per evaluation.
/// </summary>
internal sealed class WatchEvaluations
{
    private readonly ConcurrentDictionary<string, StrongBox<long>> _byType = new(StringComparer.Ordinal);

    /// <summary>Counts one evaluation of a watch of <paramref name="typeUrl"/>.</summary>
    public void Count(string typeUrl) =>
        Interlocked.Increment(ref _byType.GetOrAdd(typeUrl, static _ => new StrongBox<long>()).Value);

    /// <summary>How many watches of <paramref name="typeUrl"/> have been evaluated so far.</summary>
    public long Of(string typeUrl) => _byType.TryGetValue(typeUrl, out var box) ? Interlocked.Read(ref box.Value) : 0;
}
