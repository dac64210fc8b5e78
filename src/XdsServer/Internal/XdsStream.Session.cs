using System.Globalization;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal.Encoding;

namespace XdsServer.Internal;

/// <summary>
/// The session loop of a stream: it applies requests (ACK/NACK bookkeeping, subscription changes), opens watches and
/// sends their answers through the writer, lowest ADS order first. It owns every <see cref="TypeSlot"/> and is the
/// only writer of per-type state; watches only fill a slot's <see cref="PendingAnswer"/> and set the wake signal.
/// </summary>
internal abstract partial class XdsStream<TRequest, TResponse>
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

    private bool HasSlot(string typeUrl) => _slots.ContainsKey(typeUrl);

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
    /// Moves a slot to a new client state. A state that did not change keeps its open watch or pending
    /// answer; otherwise the old watch and any answer computed for the old state go, and a new watch opens
    /// (this is also how an ACK re-arms a type after a response).
    /// </summary>
    protected void Update(TypeSlot slot, ClientState state)
    {
        if (ReferenceEquals(state, slot.State)
            && (slot.Watching || slot.Pending.HasPending || _ordering?.IsParked(slot) == true))
        {
            return;
        }

        slot.SetState(state);
        Rearm(slot);
    }

    private void Rearm(TypeSlot slot)
    {
        _ordering?.Forget(slot);
        slot.SetParked(false);
        try
        {
            var state = slot.State;
            slot.OpenWatch(generation => Core.Cache.CreateWatch(new WatchRequest(Node, state), response =>
            {
                slot.Pending.Offer(generation, response);
                _wake.Set();
            }));
        }
        catch (Exception e)
        {
            throw Core.CacheFailed(StreamId, nameof(ICache.CreateWatch), slot.Type.TypeUrl, e);
        }
    }

    /// <summary>Ends every watch and forgets what waits (the stream has ended).</summary>
    private void CloseSlots()
    {
        foreach (var slot in PublishedSlots)
        {
            slot.CloseWatch();
            slot.Pending.BeginWatch(); // drops the answer, and refuses any late one
            _ordering?.Forget(slot);
        }
    }

    private async Task LoopAsync()
    {
        var requests = _transport!.Requests;
        using var wakeOnCancel = Cancellation.UnsafeRegister(static wake => ((WakeSignal)wake!).Set(), _wake);
        while (true)
        {
            if (requests.TryRead(out var request))
            {
                await HandleAsync(request).ConfigureAwait(false);
                continue;
            }

            // Requests first (one may make a pending answer stale), then whatever is pending.
            await SendPendingAsync().ConfigureAwait(false);
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
    /// Sends pending answers, always the lowest ADS order first: after each send the scan starts again, since
    /// a watch of a lower type may have answered meanwhile (one update answers clusters before endpoints,
    /// but the loop may wake between the two). Answers that must wait (make before break) are parked.
    /// </summary>
    private async ValueTask SendPendingAsync()
    {
        bool sent;
        do
        {
            sent = false;
            foreach (var slot in _slotsInOrder)
            {
                var response = _ordering?.TakeParked(slot) ?? slot.Pending.Take();
                if (response is null)
                {
                    continue;
                }

                slot.SetParked(false);
                slot.WatchAnswered(); // it answered: it is done
                if (!ReferenceEquals(response.State, slot.State))
                {
                    continue; // computed for a state a later request replaced
                }

                if (response.IsEmpty)
                {
                    // The client already holds the source set: record it, send nothing, watch again.
                    slot.SetState(slot.State.ApplyResponse(response));
                    Rearm(slot);
                    continue;
                }

                if (_ordering is not null)
                {
                    var prepared = _ordering.Prepare(slot, response);
                    if (prepared is null)
                    {
                        slot.SetParked(true);
                        continue;
                    }

                    response = prepared;
                }

                await SendAsync(slot, response).ConfigureAwait(false);
                sent = true;
                break;
            }

            if (sent && _ordering is not null)
            {
                foreach (var slot in _slotsInOrder)
                {
                    if (_ordering.HasDeferredRemovals(slot) && slot.Watching && !slot.Pending.HasPending && !_ordering.IsParked(slot))
                    {
                        Rearm(slot); // a deferred removal may go now
                    }
                }
            }
        }
        while (sent);
    }

    private async ValueTask SendAsync(TypeSlot slot, WatchResponse response)
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

        await _writer.WriteAsync(slot.Type, message, message.Size, response, nonce, Cancellation).ConfigureAwait(false);
        slot.RecordSent(response, nonce, Core.Time.GetUtcNow());
    }
}
