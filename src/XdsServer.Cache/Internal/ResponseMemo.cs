using System.Collections.Immutable;

namespace XdsServer.Cache.Internal;

/// <summary>
/// The answers already computed against one <see cref="ResourceSet"/> for clients described without per-name
/// exceptions, so that streams in the same position (thousands of proxies of one kind, one subscription, one
/// baseline) get the same lists: computed once, and one reference for whoever caches what is derived from them
/// (encoded response bodies). Lives on the set it answers from, so it never outlives it; bounded to
/// <see cref="Capacity"/> entries (beyond that, answers are computed without it), copy-on-write so that lookups
/// take no lock.
/// </summary>
internal sealed class ResponseMemo
{
    public const int Capacity = 64;

    private Entry[] _entries = [];

    /// <summary>The memoized answer for <paramref name="key"/>: true when found, with <paramref name="answer"/>
    /// null for "nothing to send".</summary>
    public bool TryGet(in ResponseKey key, out ResponseAnswer? answer)
    {
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (entry.Key.Matches(key))
            {
                answer = entry.Answer;
                return true;
            }
        }

        answer = null;
        return false;
    }

    /// <summary>Remembers <paramref name="answer"/> for <paramref name="key"/> and returns the answer to use: the one
    /// already remembered when another thread got there first, so equal inputs always share one answer.</summary>
    public ResponseAnswer? Add(in ResponseKey key, ResponseAnswer? answer)
    {
        while (true)
        {
            var entries = Volatile.Read(ref _entries);
            foreach (var entry in entries)
            {
                if (entry.Key.Matches(key))
                {
                    return entry.Answer;
                }
            }

            if (entries.Length >= Capacity)
            {
                return answer;
            }

            Entry[] grown = [.. entries, new Entry(key, answer)];
            if (ReferenceEquals(Interlocked.CompareExchange(ref _entries, grown, entries), entries))
            {
                return answer;
            }
        }
    }

    private sealed record Entry(ResponseKey Key, ResponseAnswer? Answer);
}

/// <summary>The lists of a computed answer, shared by every response with equal inputs.</summary>
/// <param name="Resources">The resources to send.</param>
/// <param name="RemovedNames">Delta: the names to report removed.</param>
/// <param name="AlreadyHeld">A SotW reconnect at the set's version: nothing to send, record it
/// (<see cref="WatchResponse.IsEmpty"/>).</param>
internal sealed record ResponseAnswer(IReadOnlyList<XdsResource> Resources, IReadOnlyList<string> RemovedNames, bool AlreadyHeld = false);

/// <summary>
/// Everything a client state without per-name exceptions contributes to its answer from a given set. The baseline
/// is named by (history, generation), as <see cref="ResourceSet.ChangesSince"/> does, so that a memo never keeps an
/// earlier set alive. Subscriptions are per stream, but their name sets are shared between streams (interned from
/// two names up): compared by reference, and by content when small (an empty or one-name set is not interned).
/// </summary>
internal readonly struct ResponseKey
{
    private const int CompareContentUpTo = 1;

    private readonly ResourceType _type;
    private readonly bool _isDelta;
    private readonly ChangeHistory? _baselineHistory;
    private readonly long _baselineGeneration;
    private readonly bool _wildcard;
    private readonly ImmutableHashSet<string> _names;
    private readonly string? _reconnectVersion;

    public ResponseKey(ClientState state)
    {
        _type = state.Type;
        _isDelta = state.IsDelta;
        _baselineHistory = state.Baseline?.History;
        _baselineGeneration = state.Baseline?.Generation ?? -1;
        _wildcard = state.Subscription.IsWildcard;
        _names = state.Subscription.NameSet;
        // Read only for a SotW wildcard-only client holding nothing yet: elsewhere leave it out, so that reconnecting
        // clients reporting assorted versions still share their answers.
        _reconnectVersion = !_isDelta && _baselineHistory is null && _wildcard && _names.IsEmpty ? state.ReconnectVersion : null;
    }

    public bool Matches(in ResponseKey other) =>
        ReferenceEquals(_type, other._type)
        && _isDelta == other._isDelta
        && ReferenceEquals(_baselineHistory, other._baselineHistory)
        && _baselineGeneration == other._baselineGeneration
        && _wildcard == other._wildcard
        && SameNames(_names, other._names)
        && string.Equals(_reconnectVersion, other._reconnectVersion, StringComparison.Ordinal);

    private static bool SameNames(ImmutableHashSet<string> a, ImmutableHashSet<string> b) =>
        ReferenceEquals(a, b) || (a.Count == b.Count && a.Count <= CompareContentUpTo && a.SetEquals(b));
}
