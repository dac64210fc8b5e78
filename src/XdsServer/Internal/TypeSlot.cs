using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>One resource type on one stream: the client's state, its watch, its pending response and its
/// ACK/NACK bookkeeping. Mutated only by the stream's loop, except the pending answer (set by watches).</summary>
internal sealed class TypeSlot(ResourceType type, ClientState state)
{
    private readonly Lock _gate = new();
    private WatchResponse? _pending;
    private long _generation;

    public ResourceType Type { get; } = type;

    public ClientState State { get; set; } = state;

    /// <summary>The open watch, if any (null once it answered or was cancelled).</summary>
    public IDisposable? Watch { get; set; }

    /// <summary>A response waiting for another type to go first (make before break).</summary>
    public WatchResponse? Held { get; set; }

    /// <summary>Re-evaluate once higher-order types settle: a removal was deferred while still referenced.</summary>
    public bool RecheckWhenSettled { get; set; }

    /// <summary>The last response sent (its resource list is shared, not copied).</summary>
    public WatchResponse? LastSent { get; set; }

    public string? LastSentNonce { get; set; }

    public string? LastSentVersion { get; set; }

    public DateTimeOffset? LastSentAt { get; set; }

    /// <summary>A response was sent and is neither ACKed nor NACKed yet.</summary>
    public bool AwaitingAck { get; set; }

    public string? AckedVersion { get; set; }

    public XdsNack? LastNack { get; set; }

    public long ResponsesSent { get; set; }

    public long Acks { get; set; }

    public long Nacks { get; set; }

    public bool HasPending => PeekPending() is not null;

    /// <summary>Starts a new watch generation: answers of earlier watches are refused from now on.</summary>
    public long BeginWatch()
    {
        lock (_gate)
        {
            _pending = null;
            return ++_generation;
        }
    }

    /// <summary>Stores a watch's answer if it comes from the current watch generation: a late answer of a
    /// cancelled watch must not overwrite the answer of its replacement.</summary>
    public void SetPending(long generation, WatchResponse response)
    {
        lock (_gate)
        {
            if (generation == _generation)
            {
                _pending = response;
            }
        }
    }

    public WatchResponse? TakePending()
    {
        lock (_gate)
        {
            var pending = _pending;
            _pending = null;
            return pending;
        }
    }

    public void DropPending() => TakePending();

    public WatchResponse? PeekPending()
    {
        lock (_gate)
        {
            return _pending;
        }
    }
}
