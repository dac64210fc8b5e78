using System.Runtime.CompilerServices;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// Turns watch answers into <see cref="OutgoingResponse"/>s, encoding a body once per distinct content: the caches
/// hand equal answers the same resource list (a SotW wildcard answer carries its set's shared <c>Sorted</c> array;
/// streams with one subscription answered from one set share their lists), so the list's identity finds the body.
/// One per server (no process-wide state).
/// </summary>
/// <remarks>
/// Bodies live in a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the list: an entry lives exactly as long
/// as its list, never keeps the list (or its set) alive, and needs no eviction. A list is immutable once published,
/// so the body is a function of the list plus what the entry checks (type URL, version, protocol, removed names).
/// A list seen for the first time is only marked and its response written as a message, the way a stream did before:
/// most lists that are never shared (a per-stream delta diff) then cost no copy and keep no bytes alive (a slot keeps
/// its last response, and with it the list). The second stream to send a list encodes the body; every later one
/// copies it.
/// </remarks>
internal sealed class ResponseEncoder
{
    private readonly ConditionalWeakTable<IReadOnlyList<XdsResource>, Entry> _bodies = new();
    private long _bodiesEncoded;

    public ResponseEncoder(IEnumerable<IXdsCallbacks> callbacks)
    {
        ResponseCallbacks = [.. callbacks.Where(WantsResponses)];
    }

    /// <summary>The callbacks that implement <see cref="IXdsCallbacks.OnResponseAsync"/>: only for them is a response
    /// message built (the interface's default does nothing with it).</summary>
    public IReadOnlyList<IXdsCallbacks> ResponseCallbacks { get; }

    /// <summary>Bodies encoded for sharing so far (tests and benchmarks count them).</summary>
    public long BodiesEncoded => Interlocked.Read(ref _bodiesEncoded);

    /// <summary>The response to write for <paramref name="response"/> with this stream's <paramref name="nonce"/>.</summary>
    public OutgoingResponse Encode(WatchResponse response, string nonce)
    {
        ArgumentNullException.ThrowIfNull(response);
        return SharedBody(response) is { } body
            ? OutgoingResponse.Shared(response, nonce, body)
            : OutgoingResponse.Single(response, nonce);
    }

    private EncodedBody? SharedBody(WatchResponse response)
    {
        var list = response.Resources;
        if (list.Count == 0)
        {
            // The empty list is one process-wide instance ([]) for every type and version, and such a body is a few
            // bytes: not worth an entry.
            return null;
        }

        if (!_bodies.TryGetValue(list, out var entry))
        {
            _bodies.TryAdd(list, new Entry(response, null));
            return null;
        }

        if (!entry.Matches(response))
        {
            return null; // the same list in another answer (another version or removals): written as a message
        }

        if (entry.Body is { } body)
        {
            return body;
        }

        // Two streams may get here at once and both encode: the bodies are equal and the last one stays.
        body = EncodedBody.Create(response);
        Interlocked.Increment(ref _bodiesEncoded);
        _bodies.AddOrUpdate(list, new Entry(response, body));
        return body;
    }

    /// <summary>True when <paramref name="callbacks"/> overrides <see cref="IXdsCallbacks.OnResponseAsync"/> (an interface
    /// map points a method left to its default at the interface's own method).</summary>
    internal static bool WantsResponses(IXdsCallbacks callbacks) =>
        XdsServerCore.Implements(callbacks, nameof(IXdsCallbacks.OnResponseAsync));

    /// <summary>What a body was encoded from, besides the list (which is the key). Holds no reference to the list, the
    /// answer or its set.</summary>
    private sealed class Entry(WatchResponse response, EncodedBody? body)
    {
        private readonly string _typeUrl = response.TypeUrl;
        private readonly string _version = response.Version;
        private readonly bool _delta = response.IsDelta;
        private readonly IReadOnlyList<string> _removed = response.RemovedNames;

        public EncodedBody? Body { get; } = body;

        public bool Matches(WatchResponse response) =>
            response.IsDelta == _delta
            && string.Equals(response.Version, _version, StringComparison.Ordinal)
            && string.Equals(response.TypeUrl, _typeUrl, StringComparison.Ordinal)
            && (ReferenceEquals(response.RemovedNames, _removed) || response.RemovedNames.SequenceEqual(_removed, StringComparer.Ordinal));
    }
}
