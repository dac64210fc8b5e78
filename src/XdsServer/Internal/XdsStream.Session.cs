using System.Globalization;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal.Encoding;

namespace XdsServer.Internal;

/// <summary>
/// The session loop of a stream: it applies requests (ACK/NACK bookkeeping, subscription changes), and computes and
/// sends the answers of dirty types through the writer, lowest ADS order first. It owns every <see cref="TypeSlot"/>
/// and is the only writer of per-type state; a cache only signals "this type changed" (the slot's dirty flag and the
/// wake signal), and the loop computes from its own state against the set in force when it is ready to send, so a
/// type that changed twice meanwhile sends only the newest (docs/architecture.md, invariant 3).
/// </summary>
internal abstract partial class XdsStream<TRequest>
{
    // Loop only: the slots by type URL (also read by the ordering, which the loop alone calls), the nonce counter.
    private readonly Dictionary<string, TypeSlot> _slots = new(StringComparer.Ordinal);
    private readonly ResponseOrdering? _ordering;
    private long _nonce;

    // Set from any thread (reader, watches, revocation); waited on by the loop alone.
    private readonly WakeSignal _wake = new();

    // The slots in ADS order: replaced (never changed in place) by the loop when a type is added, read by the loop and
    // by the status views on any thread (Volatile).
    private TypeSlot[] _slotsInOrder = [];

    private TypeSlot[] PublishedSlots => Volatile.Read(ref _slotsInOrder);

    /// <summary>True once the stream has a slot for the type (it applied a request of it).</summary>
    protected bool HasSlot(string typeUrl) => _slots.ContainsKey(typeUrl);

    /// <summary>The node of a request, if it carries one.</summary>
    protected abstract Envoy.Config.Core.V3.Node? NodeOf(TRequest request);

    /// <summary>Applies one request: ACK/NACK bookkeeping, subscription changes, watches.</summary>
    protected abstract ValueTask HandleAsync(TRequest request);

    /// <summary>The slot of a type, created on first use.</summary>
    protected TypeSlot SlotFor(ResourceType type, Func<ResourceType, ClientState> create)
    {
        if (_slots.TryGetValue(type.TypeUrl, out var slot))
        {
            return slot;
        }

        // Asked once per type and stream, before anything of the type exists: "not served" is the client's mistake
        // (INVALID_ARGUMENT); from here on an exception from the cache is the server's fault.
        Core.RequireServed(StreamId, type.TypeUrl, Node);
        slot = new TypeSlot(type, create(type));
        slot.Answers = OpenAnswers(slot);
        _slots.Add(type.TypeUrl, slot);
        Volatile.Write(ref _slotsInOrder, [.. _slotsInOrder.Append(slot).OrderBy(s => s.Type.AdsOrder)]);
        return slot;
    }

    /// <summary>Records an ACK or a NACK of the response with <paramref name="nonce"/>.</summary>
    protected async ValueTask AcknowledgeAsync(TypeSlot slot, string nonce, string version, Google.Rpc.Status? error)
    {
        var type = XdsMetrics.Type(slot.Type.ShortName);
        if (error is not null)
        {
            slot.RecordNack(new XdsNack(nonce, slot.LastSentVersion ?? string.Empty, error.Message, Core.Time.GetUtcNow()));
            Core.Metrics.Nacks.Add(1, type, XdsMetrics.Protocol(Context.Protocol));
            XdsLog.Nack(Core.Logger, ClientText.ForLog(Node.Id), slot.Type.TypeUrl, ClientText.ForLog(slot.LastSentVersion), ClientText.ForLog(nonce), ClientText.ForLog(error.Message, 1024));
            foreach (var callbacks in Core.Callbacks)
            {
                await callbacks.OnNackAsync(Context, slot.Type.TypeUrl, nonce, error).ConfigureAwait(false);
            }

            return;
        }

        slot.RecordAck(version);
        Core.Metrics.Acks.Add(1, type, XdsMetrics.Protocol(Context.Protocol));
        foreach (var callbacks in Core.Callbacks)
        {
            await callbacks.OnAckAsync(Context, slot.Type.TypeUrl, version, nonce).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies a request's new client state: the type may send again (a response waits for the client's next request
    /// of its type), and it is looked at again when the state changed (or, for one-shot watches, when none is open:
    /// this is how an ACK re-arms a watch after a response).
    /// </summary>
    /// <param name="slot">The type's slot.</param>
    /// <param name="state">The state after the request.</param>
    /// <param name="stale">The request names an older response than the last one sent (a delta subscription change
    /// written before the client read that response): its change applies, but the type keeps waiting for the answer
    /// to the last response before it sends again.</param>
    protected void Update(TypeSlot slot, ClientState state, bool stale = false)
    {
        if (!stale)
        {
            slot.RequestArrived();
        }

        if (!ReferenceEquals(state, slot.State))
        {
            slot.SetState(state);
            _ordering?.Forget(slot);
            slot.SetParked(false);
            slot.MarkDirty();
            RecheckDeferredRemovals(slot); // what the client holds changed: a reference keeping a removal may be gone
        }
        else if (slot.Answers!.NeedsLook)
        {
            slot.MarkDirty();
        }
    }

    /// <summary>Subscribes the slot to its type's changes, or, from a cache that does not signal them, prepares
    /// one-shot watches. Either way a change marks the slot dirty and wakes the loop.</summary>
    private ITypeAnswers OpenAnswers(TypeSlot slot)
    {
        var changed = () =>
        {
            slot.Changed();
            _wake.Set();
        };
        try
        {
            if (Core.Cache is IChangeSource source && source.Subscribe(Node, slot.Type.TypeUrl, changed) is { } registration)
            {
                return new SignalledAnswers(registration);
            }
        }
        catch (Exception e)
        {
            throw Core.CacheFailed(StreamId, nameof(IChangeSource.Subscribe), slot.Type.TypeUrl, e);
        }

        return new WatchedAnswers(Core.Cache, Node, changed);
    }

    /// <summary>What the client of <paramref name="slot"/> needs now; a throwing cache is the server's fault.</summary>
    private WatchResponse? Answer(TypeSlot slot)
    {
        try
        {
            return slot.Answers!.Answer(slot.State);
        }
        catch (Exception e)
        {
            var operation = slot.Answers is WatchedAnswers ? nameof(ICache.CreateWatch) : nameof(ClientState.Answer);
            throw Core.CacheFailed(StreamId, operation, slot.Type.TypeUrl, e);
        }
    }

    /// <summary>Ends every subscription and watch, and forgets what waits (the stream has ended).</summary>
    private void CloseSlots()
    {
        foreach (var slot in PublishedSlots)
        {
            slot.CloseAnswers();
            _ordering?.Forget(slot);
        }
    }

    private async Task LoopAsync()
    {
        var requests = _transport!.Requests;
        using var wakeOnCancel = Cancellation.UnsafeRegister(static wake => ((WakeSignal)wake!).Set(), _wake);
        while (true)
        {
            if (_transport!.TryRead(out var request))
            {
                await HandleAsync(request).ConfigureAwait(false);
                continue;
            }

            // Requests first (they change what is due), then the dirty types.
            await SendDueAsync().ConfigureAwait(false);
            if (!requests.Completion.IsCompleted)
            {
                await _wake.WaitAsync().ConfigureAwait(false);
                Cancellation.ThrowIfCancellationRequested();
                continue;
            }

            try
            {
                // Ended: false when the client half-closed the stream; throws what ended it otherwise.
                if (!await requests.WaitToReadAsync(Cancellation).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (RpcException)
            {
                throw;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                return; // the client went away
            }
        }
    }

    /// <summary>
    /// Computes and sends the answers of dirty types, always the lowest ADS order first: after each send the scan
    /// starts again, since a lower type may have been signalled meanwhile (one update changes clusters before
    /// endpoints, but the loop may wake between the two). A type awaiting its client's next request stays dirty until
    /// that request. Make before break: a type that must wait stays dirty (held) and is computed again after an
    /// earlier type was sent; a type that deferred a removal is looked at again after each send of another type.
    /// </summary>
    private async ValueTask SendDueAsync()
    {
        bool sent;
        do
        {
            sent = false;
            foreach (var slot in _slotsInOrder)
            {
                if (slot.AwaitingRequest || !slot.TakeDirty())
                {
                    continue;
                }

                // Push latency runs from the first change that reached the type since it last sent (or found nothing).
                var changedAt = slot.TakeChangedAt();
                var response = Answer(slot);
                while (response is { IsEmpty: true })
                {
                    // The client already holds the current set (a delta reconnect's initial_resource_versions, a SotW
                    // reconnect at the current version): record it as one reference, send nothing. One-shot watches
                    // then need a new watch for the new state.
                    slot.SetState(slot.State.ApplyResponse(response));
                    RecheckDeferredRemovals(slot);
                    response = slot.Answers!.NeedsLook ? Answer(slot) : null;
                }

                if (response is null)
                {
                    _ordering?.Forget(slot);
                    slot.SetParked(false);
                    continue;
                }

                if (_ordering is not null)
                {
                    var prepared = _ordering.Prepare(slot, response);
                    if (prepared is null)
                    {
                        slot.MarkDirty(); // held: computed again once an earlier type is sent
                        slot.RestoreChangedAt(changedAt);
                        slot.SetParked(true);
                        continue;
                    }

                    response = prepared;
                }

                slot.SetParked(false);
                await SendAsync(slot, response, changedAt).ConfigureAwait(false);
                sent = true;
                RecheckDeferredRemovals(slot); // the client now holds what was sent: a deferred removal may go

                break;
            }
        }
        while (sent);
    }

    /// <summary>Looks again at the types that deferred a removal (other than <paramref name="changed"/>): what the
    /// client holds of <paramref name="changed"/> moved (a response sent, a request, an answer recorded), so a
    /// reference that kept a removal may be gone.</summary>
    private void RecheckDeferredRemovals(TypeSlot changed)
    {
        if (_ordering is null)
        {
            return;
        }

        foreach (var other in _slotsInOrder)
        {
            if (other != changed && _ordering.HasDeferredRemovals(other))
            {
                _ordering.Forget(other);
                other.MarkDirty();
            }
        }
    }

    private async ValueTask SendAsync(TypeSlot slot, WatchResponse response, long changedAt)
    {
        _writer!.ThrowIfRevoked();
        var nonce = (++_nonce).ToString(CultureInfo.InvariantCulture);
        // Encoded once per distinct content across this server's streams (only the nonce differs); a message object is
        // built only for callbacks that look at responses.
        var message = Core.Encoder.Encode(response, nonce);
        if (Core.Encoder.ResponseCallbacks.Count > 0)
        {
            var built = message.ToMessage();
            foreach (var callbacks in Core.Encoder.ResponseCallbacks)
            {
                await callbacks.OnResponseAsync(Context, built, Cancellation).ConfigureAwait(false);
            }
        }

        // Push latency runs from the change reaching the stream (waiting for the client's answer to the previous
        // response and make-before-break holds included), or from the computation when no signal came first.
        var since = changedAt != 0 && changedAt < response.ComputedAt ? changedAt : response.ComputedAt;
        await _writer.WriteAsync(slot.Type, message, message.Size, response, nonce, since, Cancellation).ConfigureAwait(false);
        slot.RecordSent(response, nonce, Core.Time.GetUtcNow());
    }
}
