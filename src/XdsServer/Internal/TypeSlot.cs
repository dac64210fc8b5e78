using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// One resource type on one stream, owned by the stream's loop (the session): the client's state, where its answers
/// come from (<see cref="Answers"/>) and the ACK/NACK bookkeeping change only through the methods below, which the
/// loop alone calls. Other threads touch two things: the dirty flag (<see cref="MarkDirty"/>: "look at this type
/// again", set by a change signal from any thread) and <see cref="Status"/> (an immutable record the loop publishes
/// after every change).
/// </summary>
internal sealed class TypeSlot
{
    // Set from any thread (change signals) and by the loop; cleared by the loop alone (TakeDirty). Interlocked.
    private int _dirty;

    // When a change first reached the type since it last sent or found nothing to send (a Stopwatch timestamp, 0 for
    // none): set from any thread (change signals, first one wins), taken by the loop. Interlocked.
    private long _changedAt;

    // Written by the loop only; read by status views (Volatile).
    private bool _awaitingRequest;

    // Written by the loop only, each change a new record (Volatile.Write); the loop reads it plainly, any other
    // thread through Status (Volatile.Read).
    private TypeStatus _status;

    public TypeSlot(ResourceType type, ClientState state)
    {
        Type = type;
        _status = new TypeStatus(type, state);
    }

    public ResourceType Type { get; }

    /// <summary>Where the type's answers come from (loop only; set once, right after the slot is made).</summary>
    public ITypeAnswers? Answers { get; set; }

    /// <summary>True while a response sent is not followed by a request of the type (an ACK, a NACK or a new
    /// subscription): the type computes nothing meanwhile, so a client has at most one response of a type to answer
    /// and a slow one gets only the newest version once it answers (docs/architecture.md, invariant 3).</summary>
    public bool AwaitingRequest => Volatile.Read(ref _awaitingRequest);

    /// <summary>True when the type waits to be looked at (any thread).</summary>
    public bool IsDirty => Volatile.Read(ref _dirty) != 0;

    /// <summary>True when a response is due or computed and not sent (status views; any thread).</summary>
    public bool HasPendingAnswer => (IsDirty && !AwaitingRequest) || Answers?.Waiting is not null;

    /// <summary>The client's state (loop only).</summary>
    public ClientState State => _status.State;

    /// <summary>The nonce of the last response sent, or null (loop only).</summary>
    public string? LastSentNonce => _status.LastSentNonce;

    /// <summary>The version of the last response sent, or null (loop only).</summary>
    public string? LastSentVersion => _status.LastSentVersion;

    /// <summary>The latest published view of this slot; safe from any thread.</summary>
    public TypeStatus Status => Volatile.Read(ref _status);

    /// <summary>Moves to a new client state (a request, or a response recorded without sending).</summary>
    public void SetState(ClientState state) => Publish(_status with { State = state });

    /// <summary>Says the type must be looked at again (any thread; a signal then wakes the loop).</summary>
    public void MarkDirty() => Volatile.Write(ref _dirty, 1);

    /// <summary>A change reached the type (any thread): it is dirty, and the push latency runs from now.</summary>
    public void Changed()
    {
        Interlocked.CompareExchange(ref _changedAt, System.Diagnostics.Stopwatch.GetTimestamp(), 0);
        MarkDirty();
    }

    /// <summary>When a change first reached the type since the last call, or 0 (loop only).</summary>
    public long TakeChangedAt() => Interlocked.Exchange(ref _changedAt, 0);

    /// <summary>Puts back a time taken with <see cref="TakeChangedAt"/> (the type was held), keeping the earlier of it
    /// and any change that arrived since (loop only).</summary>
    public void RestoreChangedAt(long changedAt)
    {
        if (changedAt == 0)
        {
            return;
        }

        long current;
        do
        {
            current = Volatile.Read(ref _changedAt);
            if (current != 0 && current <= changedAt)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _changedAt, changedAt, current) != current);
    }

    /// <summary>Clears the dirty flag; true when it was set (loop only).</summary>
    public bool TakeDirty() => Interlocked.Exchange(ref _dirty, 0) != 0;

    /// <summary>A request of the type arrived: the type may send again (loop only).</summary>
    public void RequestArrived() => Volatile.Write(ref _awaitingRequest, false);

    /// <summary>Stops the answers (the stream ended).</summary>
    public void CloseAnswers()
    {
        Answers?.Dispose();
        Answers = null;
    }

    /// <summary>Records a response written to the client.</summary>
    public void RecordSent(WatchResponse response, string nonce, DateTimeOffset at)
    {
        Volatile.Write(ref _awaitingRequest, true);
        Publish(_status with
        {
            State = _status.State.ApplyResponse(response),
            LastSentResources = response.Resources,
            LastSentNonce = nonce,
            LastSentVersion = response.Version,
            LastSentAt = at,
            AwaitingAck = true,
            ResponsesSent = _status.ResponsesSent + 1,
        });
    }

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
    /// <summary>The resources of the last response sent (the list is shared, not copied). Not the response itself:
    /// that names the whole snapshot it was computed from, which would stay in memory as long as the type is quiet.</summary>
    public IReadOnlyList<XdsResource>? LastSentResources { get; init; }

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
