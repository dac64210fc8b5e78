using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// The one thing a one-shot watch writes (<see cref="WatchedAnswers"/>, for a cache that does not signal changes): the
/// newest answer for one type of one stream (latest wins; docs/architecture.md, invariant 3). Generation rule: every watch the loop opens starts a new generation, and an answer is kept only if
/// it comes from the current one, so a late answer of a cancelled watch never overwrites its replacement's.
/// </summary>
/// <remarks>Thread rule: <see cref="Offer"/> from any thread (watch callbacks); everything else by the stream's
/// loop, except <see cref="HasPending"/>, which status views may read. All fields only under <c>_gate</c>.</remarks>
internal sealed class PendingAnswer
{
    private readonly Lock _gate = new();
    private WatchResponse? _pending;
    private long _generation;

    public bool HasPending => Peek() is not null;

    /// <summary>Starts a new watch generation and drops the answer of the old one.</summary>
    public long BeginWatch()
    {
        lock (_gate)
        {
            _pending = null;
            return ++_generation;
        }
    }

    /// <summary>Keeps <paramref name="response"/> if <paramref name="generation"/> is current (newest wins).</summary>
    public void Offer(long generation, WatchResponse response)
    {
        lock (_gate)
        {
            if (generation == _generation)
            {
                _pending = response;
            }
        }
    }

    public WatchResponse? Take()
    {
        lock (_gate)
        {
            var pending = _pending;
            _pending = null;
            return pending;
        }
    }

    public WatchResponse? Peek()
    {
        lock (_gate)
        {
            return _pending;
        }
    }
}
