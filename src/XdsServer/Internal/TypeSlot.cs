using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// One resource type on one stream, owned by the stream's loop (the session): the client's state, the open watch and
/// the ACK/NACK bookkeeping change only through the methods below, which the loop alone calls. Two things are read
/// by other threads, and neither is a mutable field: <see cref="Pending"/> (the mailbox watches write, behind its own
/// lock) and <see cref="Status"/> (an immutable record the loop publishes after every change).
/// </summary>
internal sealed class TypeSlot
{
    // Loop only (the session's thread of control): read and written by the stream's loop, never elsewhere.
    private IDisposable? _watch;

    // Written by the loop only, each change a new record (Volatile.Write); the loop reads it plainly, any other
    // thread through Status (Volatile.Read).
    private TypeStatus _status;

    public TypeSlot(ResourceType type, ClientState state)
    {
        Type = type;
        _status = new TypeStatus(type, state);
    }

    public ResourceType Type { get; }

    /// <summary>The answer watches leave for the loop (any thread writes, the loop takes).</summary>
    public PendingAnswer Pending { get; } = new();

    /// <summary>The client's state (loop only).</summary>
    public ClientState State => _status.State;

    /// <summary>The nonce of the last response sent, or null (loop only).</summary>
    public string? LastSentNonce => _status.LastSentNonce;

    /// <summary>The version of the last response sent, or null (loop only).</summary>
    public string? LastSentVersion => _status.LastSentVersion;

    /// <summary>True while a watch is open (loop only).</summary>
    public bool Watching => _watch is not null;

    /// <summary>The latest published view of this slot; safe from any thread.</summary>
    public TypeStatus Status => Volatile.Read(ref _status);

    /// <summary>Moves to a new client state (a request, or a response recorded without sending).</summary>
    public void SetState(ClientState state) => Publish(_status with { State = state });

    /// <summary>Replaces the open watch (disposing the old one) and starts a new answer generation.</summary>
    public long OpenWatch(Func<long, IDisposable> open)
    {
        CloseWatch();
        var generation = Pending.BeginWatch();
        _watch = open(generation);
        return generation;
    }

    /// <summary>The watch answered: it is done (it is not disposed again).</summary>
    public void WatchAnswered() => _watch = null;

    /// <summary>Cancels the open watch, if any, and drops its answer.</summary>
    public void CloseWatch()
    {
        _watch?.Dispose();
        _watch = null;
    }

    /// <summary>Records a response written to the client.</summary>
    public void RecordSent(WatchResponse response, string nonce, DateTimeOffset at) => Publish(_status with
    {
        State = _status.State.ApplyResponse(response),
        LastSent = response,
        LastSentNonce = nonce,
        LastSentVersion = response.Version,
        LastSentAt = at,
        AwaitingAck = true,
        ResponsesSent = _status.ResponsesSent + 1,
    });

    public void RecordAck(string version) => Publish(_status with
    {
        AckedVersion = version,
        LastNack = null,
        Acks = _status.Acks + 1,
        AwaitingAck = false,
    });

    public void RecordNack(XdsNack nack) => Publish(_status with
    {
        LastNack = nack,
        Nacks = _status.Nacks + 1,
        AwaitingAck = false,
    });

    /// <summary>Says on the status views whether the ordering holds a response of this type back.</summary>
    public void SetParked(bool parked)
    {
        if (_status.Parked != parked)
        {
            Publish(_status with { Parked = parked });
        }
    }

    private void Publish(TypeStatus next)
    {
        Volatile.Write(ref _status, next);
    }
}

/// <summary>An immutable view of one type on one stream, published by the stream's loop; status, CSDS and health read
/// it from any thread without a lock. Its <see cref="State"/> is immutable too (a new one per change).</summary>
internal sealed record TypeStatus(ResourceType Type, ClientState State)
{
    /// <summary>The last response sent (its resource list is shared, not copied).</summary>
    public WatchResponse? LastSent { get; init; }

    public string? LastSentNonce { get; init; }

    public string? LastSentVersion { get; init; }

    public DateTimeOffset? LastSentAt { get; init; }

    /// <summary>A response was sent and is neither ACKed nor NACKed yet.</summary>
    public bool AwaitingAck { get; init; }

    public string? AckedVersion { get; init; }

    public XdsNack? LastNack { get; init; }

    public long ResponsesSent { get; init; }

    public long Acks { get; init; }

    public long Nacks { get; init; }

    /// <summary>A response waits for another type to go first (make before break).</summary>
    public bool Parked { get; init; }
}
