using Envoy.Config.Core.V3;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// Where a slot's answers come from, as the stream's loop sees it: asked for the response its client needs now, when
/// the slot is dirty (a change was signalled, or a request changed the state). Two forms: a cache that signals changes
/// (<see cref="SignalledAnswers"/>), and one that only answers one-shot watches (<see cref="WatchedAnswers"/>).
/// </summary>
/// <remarks>Thread rule: every member is called by the stream's loop alone, except <see cref="Waiting"/>, which status
/// views may read.</remarks>
internal interface ITypeAnswers : IDisposable
{
    /// <summary>The response <paramref name="state"/> needs now, or null (nothing, or nothing yet).</summary>
    WatchResponse? Answer(ClientState state);

    /// <summary>True when nothing will mark the slot dirty by itself (a one-shot watch answered and none is open): a
    /// request that leaves the state as it is must then look again, as an ACK re-arms a watch.</summary>
    bool NeedsLook { get; }

    /// <summary>The set of the type in force now, when the cache says (signalled answers); false otherwise.</summary>
    bool TryGetCurrent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceSet? current);

    /// <summary>An answer computed by the cache and not taken yet (one-shot watches only; signalled answers are
    /// computed by the loop when it takes them).</summary>
    WatchResponse? Waiting { get; }
}

/// <summary>
/// Answers of a cache that signals changes (<see cref="IChangeSource"/>): the loop computes its own response from its
/// own state against the set in force when it is ready to send. Nothing is computed on another thread, so nothing can
/// be stale: no generation, no check that the state is still the one an answer was computed for.
/// </summary>
internal sealed class SignalledAnswers(IChangeRegistration registration) : ITypeAnswers
{
    public bool NeedsLook => false;

    public WatchResponse? Waiting => null;

    public WatchResponse? Answer(ClientState state) =>
        registration.TryGetCurrent(out var current, out var snapshot) ? state.Answer(current, snapshot) : null;

    public bool TryGetCurrent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceSet? current) =>
        registration.TryGetCurrent(out current, out _) && current is not null;

    public void Dispose() => registration.Dispose();
}

/// <summary>
/// Answers of a cache that only answers one-shot watches (a custom <see cref="IConfigWatcher"/>): a watch is opened
/// for the state the loop asks about and its answer waits in a <see cref="PendingAnswer"/> until the loop takes it.
/// The cache computes on its own thread, so an answer may be for a state a later request replaced: the generation and
/// the state check drop those.
/// </summary>
internal sealed class WatchedAnswers(IConfigWatcher cache, Node node, Action answered) : ITypeAnswers
{
    private readonly PendingAnswer _pending = new();

    // Loop only.
    private IDisposable? _watch;

    public bool NeedsLook => _watch is null;

    public WatchResponse? Waiting => _pending.Peek();

    public bool TryGetCurrent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceSet? current)
    {
        current = null;
        return false; // a watch-only cache says nothing about its current set
    }

    public WatchResponse? Answer(ClientState state)
    {
        if (Take() is { } answer && ReferenceEquals(answer.State, state))
        {
            return answer;
        }

        // No answer for this state: watch it (again: a new watch also evaluates the set in force now, which is how a
        // held type or a deferred removal is looked at again). The cache may answer before CreateWatch returns.
        _watch?.Dispose();
        _watch = null;
        var generation = _pending.BeginWatch();
        _watch = cache.CreateWatch(new WatchRequest(node, state), response =>
        {
            _pending.Offer(generation, response);
            answered();
        });
        return Take();
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _watch = null;
        _pending.BeginWatch(); // drops the answer, and refuses any late one
    }

    private WatchResponse? Take()
    {
        var answer = _pending.Take();
        if (answer is not null)
        {
            _watch = null; // it answered: it is done (not disposed again)
        }

        return answer;
    }
}
