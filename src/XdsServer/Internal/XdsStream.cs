using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Google.Protobuf;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal.Encoding;

namespace XdsServer.Internal;

/// <summary>
/// One xDS stream: a reader that queues requests (bounded), and one loop that applies them, opens watches
/// and is the stream's only writer. Watches never send: they leave their answer in the type's slot (newest
/// wins, one per type) and wake the loop (docs/architecture.md, invariants 2 and 3).
/// </summary>
internal abstract class XdsStream<TRequest, TResponse> : IStreamStatusSource, IOrderedStream, IDisposable
    where TRequest : class, IMessage
    where TResponse : class, IMessage
{
    private static readonly object Wake = new();
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    private readonly Dictionary<string, TypeSlot> _slots = new(StringComparer.Ordinal);
    private readonly List<TypeSlot> _slotsInOrder = [];
    private readonly Lock _statusGate = new();
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _readCredits;
    private readonly ResourceOrder? _order;
    private readonly string? _fixedTypeUrl;
    private readonly DateTimeOffset _openedAt;
    private int _wakeScheduled;
    private long _nonce;
    private readonly CancellationTokenSource _ended = new();
    private readonly SemaphoreSlim _reauthorizeNow = new(0, 1);
    private IServerStreamWriter<OutgoingResponse>? _writer;
    private Node? _node;
    private RpcException? _revoked;

    protected XdsStream(XdsServerCore core, XdsProtocol protocol, string? fixedTypeUrl, ServerCallContext call)
    {
        Core = core;
        _fixedTypeUrl = fixedTypeUrl;
        Context = new XdsStreamContext(core.NextStreamId(), protocol, fixedTypeUrl, call, null);
        Cancellation = call.CancellationToken;
        _readCredits = new SemaphoreSlim(core.Options.MaxQueuedRequestsPerStream);
        _openedAt = core.Time.GetUtcNow();
        _order = fixedTypeUrl is null && core.Options.MakeBeforeBreak ? new ResourceOrder(this) : null;
    }

    public XdsServerCore Core { get; }

    protected XdsStreamContext Context { get; }

    protected CancellationToken Cancellation { get; }

    public Node Node => _node ?? throw new InvalidOperationException("The stream has no node yet.");

    public Node? CurrentNode => _node;

    public IReadOnlyDictionary<string, TypeSlot> Slots => _slots;

    public long StreamId => Context.StreamId;

    public async Task RunAsync(IAsyncStreamReader<TRequest> requests, IServerStreamWriter<OutgoingResponse> responses)
    {
        _writer = responses;
        var opened = false;
        Task? reader = null;
        IDisposable? tracking = null;
        var reason = "client closed";
        try
        {
            if (!await requests.MoveNext(Cancellation).ConfigureAwait(false))
            {
                return;
            }

            var first = requests.Current;
            _node = NodeOf(first);
            if (_node is null)
            {
                throw XdsServerCore.Fail(StatusCode.InvalidArgument, "the first request of a stream must carry the node");
            }

            if (_node.Id.Length == 0)
            {
                throw XdsServerCore.Fail(StatusCode.InvalidArgument, "the node of the first request has an empty id");
            }

            Context.Node = _node;
            var authorization = await Core.AuthorizeAsync(Context, _node, Cancellation).ConfigureAwait(false);
            if (authorization.Refusal is { } refusal)
            {
                XdsLog.NodeRefused(Core.Logger, StreamId, ClientText.ForLog(_node.Id), ClientText.ForLog(refusal, 1024));
                throw XdsServerCore.Fail(StatusCode.PermissionDenied, $"node '{ClientText.ForLog(_node.Id)}' refused: {refusal}");
            }

            foreach (var callbacks in Core.Callbacks)
            {
                await callbacks.OnStreamOpenedAsync(Context, Cancellation).ConfigureAwait(false);
            }

            opened = true;
            Core.Metrics.StreamsOpen.Add(1, XdsMetrics.Protocol(Context.Protocol));
            Core.Registry.Add(StreamId, this);
            try
            {
                tracking = Core.Cache.TrackStream(_node);
            }
            catch (Exception e)
            {
                throw Core.CacheFailed(StreamId, nameof(ICache.TrackStream), Context.TypeUrl, e);
            }

            XdsLog.StreamOpened(Core.Logger, StreamId, Context.Protocol, ClientText.ForLog(_node.Id));

            if (authorization.ValidUntil is not null || authorization.Recheck)
            {
                _ = KeepAuthorizedAsync(authorization);
            }

            reader = ReadAsync(requests);
            await HandleAsync(first).ConfigureAwait(false);
            await LoopAsync().ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted
            or StatusCode.PermissionDenied or StatusCode.FailedPrecondition or StatusCode.Unauthenticated)
        {
            reason = $"{e.StatusCode}: {e.Status.Detail}";
            Core.Metrics.BadRequests.Add(1, XdsMetrics.Protocol(Context.Protocol));
            XdsLog.BadRequest(Core.Logger, StreamId, e.StatusCode, ClientText.ForLog(e.Status.Detail, 1024));
            throw;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Internal)
        {
            reason = $"{e.StatusCode}: {e.Status.Detail}"; // a fault of the server's (logged where it happened)
            throw;
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            reason = "cancelled";
        }
        catch (Exception e) when (MalformedRequest(e) is { } malformed)
        {
            // A client's garbage is the client's fault: INVALID_ARGUMENT and an Information line, not an error.
            reason = $"{StatusCode.InvalidArgument}: {malformed}";
            Core.Metrics.BadRequests.Add(1, XdsMetrics.Protocol(Context.Protocol));
            XdsLog.BadRequest(Core.Logger, StreamId, StatusCode.InvalidArgument, ClientText.ForLog(malformed, 1024));
            throw XdsServerCore.Fail(StatusCode.InvalidArgument, malformed);
        }
        catch (Exception e) when (e is not RpcException)
        {
            reason = "failed: " + e.Message;
            XdsLog.StreamFailed(Core.Logger, e, StreamId);
            throw;
        }
        finally
        {
            _inbox.Writer.TryComplete();
            await _ended.CancelAsync().ConfigureAwait(false);
            if (reader is not null)
            {
                // The reader must be done before the handler returns: Kestrel reuses the request's body reader for
                // the connection's next call, and a read left running would fail that call ("Error reading message").
                await reader.ConfigureAwait(false);
            }

            lock (_statusGate)
            {
                foreach (var slot in _slotsInOrder)
                {
                    slot.Watch?.Dispose();
                    slot.Watch = null;
                    slot.DropPending();
                    slot.Held = null;
                }
            }

            tracking?.Dispose();
            if (opened)
            {
                Core.Registry.Remove(StreamId);
                Core.Metrics.StreamsOpen.Add(-1, XdsMetrics.Protocol(Context.Protocol));
                foreach (var callbacks in Core.Callbacks)
                {
                    await callbacks.OnStreamClosedAsync(Context).ConfigureAwait(false);
                }
            }

            XdsLog.StreamClosed(Core.Logger, StreamId, ClientText.ForLog(reason, 1024));
            Dispose();
        }
    }

    /// <summary>The message of a request that could not be read as the protocol's message, or null for any
    /// other exception.</summary>
    private static string? MalformedRequest(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is InvalidProtocolBufferException)
            {
                return $"the request is not a valid {typeof(TRequest).Name} message: {inner.Message}";
            }
        }

        return null;
    }

    /// <summary>How close to a credential's expiry a timer wake-up counts as early (see <see cref="KeepAuthorizedAsync"/>).</summary>
    private static readonly TimeSpan NearExpiry = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Keeps a credential-based authorization true while the stream lives: ends the stream with UNAUTHENTICATED
    /// when the credential expires, and asks the authorizers again every
    /// <see cref="XdsServerOptions.ReauthorizationInterval"/> when the decision may be revoked. Ending goes
    /// through the request channel, so the loop stops before it sends anything else.
    /// </summary>
    private async Task KeepAuthorizedAsync(NodeAuthorization authorization)
    {
        var ct = _ended.Token;
        try
        {
            while (true)
            {
                var now = Core.Time.GetUtcNow();
                if (authorization.ValidUntil is { } until && until <= now)
                {
                    Revoke($"the credential that authorized node '{ClientText.ForLog(Node.Id)}' expired at {until:O}; reconnect with a fresh one");
                    return;
                }

                var wait = authorization.Recheck
                    ? Core.Options.ReauthorizationInterval * (0.9 + (Random.Shared.NextDouble() * 0.2))
                    : Timeout.InfiniteTimeSpan;
                if (authorization.ValidUntil is { } end && (wait == Timeout.InfiniteTimeSpan || end - now < wait))
                {
                    // At most a day per wait (a timer cannot wait years); the loop looks again.
                    wait = end - now < MaxWait ? end - now : MaxWait;
                }

                var asked = await WaitAsync(wait, ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested(); // the stream's connection must not be judged once it has ended
                if (!asked && authorization.ValidUntil is { } due && due - Core.Time.GetUtcNow() is var left
                    && left > TimeSpan.Zero && left < NearExpiry)
                {
                    // The timer woke a hair before the expiry (timers and the wall clock drift apart): wait out the
                    // rest so the stream ends as expired, not on an authorizer whose own clock already says so.
                    continue;
                }
                if ((authorization.Recheck || asked) && (authorization.ValidUntil is not { } expiry || expiry > Core.Time.GetUtcNow()))
                {
                    authorization = await Core.AuthorizeAsync(Context, Node, ct).ConfigureAwait(false);
                    if (authorization.Refusal is { } refusal)
                    {
                        Revoke($"node '{ClientText.ForLog(Node.Id)}' is no longer authorized: {refusal}");
                        return;
                    }
                }
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // The stream ended first (its signals may be disposed by now).
        }
        catch (Exception e)
        {
            // An authorizer that fails cannot vouch for the stream any more.
            XdsLog.ReauthorizationFailed(Core.Logger, e, StreamId);
            Revoke("the server could not confirm the stream's authorization; reconnect");
        }
    }

    /// <summary>Waits <paramref name="wait"/>, or less when <see cref="Reauthorize"/> is called; true in that case.</summary>
    private async Task<bool> WaitAsync(TimeSpan wait, CancellationToken ct)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(wait, Core.Time, either.Token);
        var asked = _reauthorizeNow.WaitAsync(either.Token);
        var first = await Task.WhenAny(delay, asked).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        return first == asked && asked.IsCompletedSuccessfully;
    }

    public void Reauthorize()
    {
        try
        {
            if (_reauthorizeNow.CurrentCount == 0)
            {
                _reauthorizeNow.Release();
            }
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
            // Already asked, or the stream has ended.
        }
    }

    private void Revoke(string detail)
    {
        var error = XdsServerCore.Fail(StatusCode.Unauthenticated, detail);
        Volatile.Write(ref _revoked, error);
        _inbox.Writer.TryComplete(error);
    }

    /// <summary>The node of a request, if it carries one.</summary>
    protected abstract Node? NodeOf(TRequest request);

    /// <summary>Applies one request: ACK/NACK bookkeeping, subscription changes, watches.</summary>
    protected abstract ValueTask HandleAsync(TRequest request);

    /// <summary>The type URL of a request: the stream's own on a per-type stream (which may not change).</summary>
    protected ResourceType ResolveType(string requestTypeUrl)
    {
        if (_fixedTypeUrl is not null)
        {
            if (requestTypeUrl.Length > 0 && requestTypeUrl != _fixedTypeUrl)
            {
                throw XdsServerCore.Fail(StatusCode.InvalidArgument,
                    $"type URL changed from '{_fixedTypeUrl}' to '{requestTypeUrl}' on a per-type stream");
            }

            return Confidential(Core.ResolveType(_fixedTypeUrl));
        }

        if (requestTypeUrl.Length == 0)
        {
            throw XdsServerCore.Fail(StatusCode.InvalidArgument, "type_url is required on an aggregated (ADS) stream");
        }

        return Confidential(Core.ResolveType(requestTypeUrl));
    }

    private ResourceType Confidential(ResourceType type)
    {
        if (type.Sensitive && !_slots.ContainsKey(type.TypeUrl))
        {
            Core.RequireConfidentialTransport(type, Context);
        }

        return type;
    }

    protected async ValueTask NotifyRequestAsync(TRequest request, ResourceType type)
    {
        Core.Metrics.Requests.Add(1, XdsMetrics.Type(type.ShortName), XdsMetrics.Protocol(Context.Protocol));
        foreach (var callbacks in Core.Callbacks)
        {
            await callbacks.OnRequestAsync(Context, request, Cancellation).ConfigureAwait(false);
        }
    }

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
        lock (_statusGate)
        {
            _slots.Add(type.TypeUrl, slot);
            _slotsInOrder.Add(slot);
            _slotsInOrder.Sort(static (a, b) => a.Type.AdsOrder.CompareTo(b.Type.AdsOrder));
        }

        return slot;
    }

    /// <summary>Records an ACK or a NACK of the response with <paramref name="nonce"/>.</summary>
    protected async ValueTask AcknowledgeAsync(TypeSlot slot, string nonce, string version, Google.Rpc.Status? error)
    {
        var type = XdsMetrics.Type(slot.Type.ShortName);
        if (error is not null)
        {
            lock (_statusGate)
            {
                slot.LastNack = new XdsNack(nonce, slot.LastSentVersion ?? string.Empty, error.Message, Core.Time.GetUtcNow());
                slot.Nacks++;
                slot.AwaitingAck = false;
            }

            Core.Metrics.Nacks.Add(1, type, XdsMetrics.Protocol(Context.Protocol));
            XdsLog.Nack(Core.Logger, ClientText.ForLog(Node.Id), slot.Type.TypeUrl, ClientText.ForLog(slot.LastSentVersion), ClientText.ForLog(nonce), ClientText.ForLog(error.Message, 1024));
            foreach (var callbacks in Core.Callbacks)
            {
                await callbacks.OnNackAsync(Context, slot.Type.TypeUrl, nonce, error).ConfigureAwait(false);
            }

            return;
        }

        lock (_statusGate)
        {
            slot.AckedVersion = version;
            slot.LastNack = null;
            slot.Acks++;
            slot.AwaitingAck = false;
        }

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
        if (ReferenceEquals(state, slot.State) && (slot.Watch is not null || slot.HasPending || slot.Held is not null))
        {
            return;
        }

        lock (_statusGate)
        {
            slot.State = state;
        }

        Rearm(slot);
    }

    private void Rearm(TypeSlot slot)
    {
        slot.Watch?.Dispose();
        var generation = slot.BeginWatch();
        slot.Held = null;
        slot.RecheckWhenSettled = false;
        try
        {
            slot.Watch = Core.Cache.CreateWatch(new WatchRequest(Node, slot.State), response =>
            {
                slot.SetPending(generation, response);
                if (Interlocked.Exchange(ref _wakeScheduled, 1) == 0)
                {
                    _inbox.Writer.TryWrite(Wake);
                }
            });
        }
        catch (Exception e)
        {
            throw Core.CacheFailed(StreamId, nameof(ICache.CreateWatch), slot.Type.TypeUrl, e);
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<TRequest> requests)
    {
        try
        {
            // _ended: cancelled when the stream ends for any reason (the call's own token included), so the reader stops.
            var ended = _ended.Token;
            while (await requests.MoveNext(ended).ConfigureAwait(false))
            {
                // Back-pressure: at most MaxQueuedRequestsPerStream requests wait for the loop.
                await _readCredits.WaitAsync(ended).ConfigureAwait(false);
                _inbox.Writer.TryWrite(requests.Current);
            }

            _inbox.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _inbox.Writer.TryComplete(e);
        }
    }

    private async Task LoopAsync()
    {
        var reader = _inbox.Reader;
        while (true)
        {
            if (!reader.TryRead(out var item))
            {
                // Requests first (one may make a pending answer stale), then whatever is pending.
                await SendPendingAsync().ConfigureAwait(false);
                try
                {
                    if (!await reader.WaitToReadAsync(Cancellation).ConfigureAwait(false))
                    {
                        return; // the client half-closed the stream
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

                continue;
            }

            if (ReferenceEquals(item, Wake))
            {
                Volatile.Write(ref _wakeScheduled, 0);
                continue;
            }

            _readCredits.Release();
            await HandleAsync((TRequest)item).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends pending answers, always the lowest ADS order first: after each send the scan starts again, since
    /// a watch of a lower type may have answered meanwhile (one update answers clusters before endpoints,
    /// but the loop may wake between the two). Answers that must wait (make before break) are held.
    /// </summary>
    private async ValueTask SendPendingAsync()
    {
        bool sent;
        do
        {
            sent = false;
            foreach (var slot in _slotsInOrder)
            {
                var response = slot.Held ?? slot.TakePending();
                if (response is null)
                {
                    continue;
                }

                slot.Held = null;
                slot.Watch = null; // it answered: it is done
                if (!ReferenceEquals(response.State, slot.State))
                {
                    continue; // computed for a state a later request replaced
                }

                if (response.IsEmpty)
                {
                    // The client already holds the source set: record it, send nothing, watch again.
                    lock (_statusGate)
                    {
                        slot.State = slot.State.ApplyResponse(response);
                    }

                    Rearm(slot);
                    continue;
                }

                if (_order is not null)
                {
                    var prepared = _order.Prepare(slot, response);
                    if (prepared is null)
                    {
                        slot.Held = response;
                        continue;
                    }

                    response = prepared;
                }

                await SendAsync(slot, response).ConfigureAwait(false);
                sent = true;
                break;
            }

            if (sent && _order is not null)
            {
                foreach (var slot in _slotsInOrder)
                {
                    if (slot.RecheckWhenSettled && slot.Watch is not null && !slot.HasPending && slot.Held is null)
                    {
                        Rearm(slot); // a deferred removal may go now
                    }
                }
            }
        }
        while (sent);
    }

    /// <summary>What a response weighs in the send budget: its resources' cached bytes plus their names, type
    /// URLs and versions, which is the encoded size up to a few bytes of framing per resource. Read off the
    /// cache instead of <c>CalculateSize()</c>, which walks the whole message again before gRPC encodes it.</summary>
    private static long Weight(WatchResponse response)
    {
        long bytes = 64 + (response.RemovedNames.Count * 64);
        foreach (var resource in response.Resources)
        {
            bytes += resource.Bytes.Length + resource.TypeUrl.Length + resource.Name.Length + resource.Version.Length + 16;
        }

        return bytes;
    }

    private async ValueTask SendAsync(TypeSlot slot, WatchResponse response)
    {
        if (Volatile.Read(ref _revoked) is { } revoked)
        {
            throw revoked; // the credential is gone: nothing more is sent
        }

        var nonce = (++_nonce).ToString(CultureInfo.InvariantCulture);
        // Encoded once per distinct content across streams; the message object is built only for callbacks that
        // look at responses.
        var message = Core.Encoder.Encode(response, nonce);
        if (Core.Encoder.ResponseCallbacks.Count > 0)
        {
            var built = message.ToMessage();
            foreach (var callbacks in Core.Encoder.ResponseCallbacks)
            {
                await callbacks.OnResponseAsync(Context, built, Cancellation).ConfigureAwait(false);
            }
        }

        using (var lease = await Core.SendBudget.AcquireAsync(Weight(response), Cancellation).ConfigureAwait(false))
        {
            if (Volatile.Read(ref _revoked) is { } revokedMeanwhile)
            {
                throw revokedMeanwhile; // revoked while callbacks ran or the budget was awaited
            }

            var write = _writer!.WriteAsync(message, Cancellation);
            if (!write.IsCompleted && await Task.WhenAny(write, SendBudget.SlowWriteElapsedAsync()).ConfigureAwait(false) != write)
            {
                // The client is slow to read: stop counting this write against everyone's budget.
                lease.Dispose();
            }

            await write.ConfigureAwait(false);
        }

        lock (_statusGate)
        {
            slot.State = slot.State.ApplyResponse(response);
            slot.LastSent = response;
            slot.LastSentNonce = nonce;
            slot.LastSentVersion = response.Version;
            slot.LastSentAt = Core.Time.GetUtcNow();
            slot.AwaitingAck = true;
            slot.ResponsesSent++;
        }

        var type = XdsMetrics.Type(slot.Type.ShortName);
        var protocol = XdsMetrics.Protocol(Context.Protocol);
        Core.Metrics.Responses.Add(1, type, protocol);
        Core.Metrics.BytesSent.Add(message.Size, type, protocol);
        Core.Metrics.PushLatency.Record(Stopwatch.GetElapsedTime(response.ComputedAt).TotalSeconds, type, protocol);
        XdsLog.Sent(Core.Logger, StreamId, slot.Type.TypeUrl, response.Version, nonce, response.Resources.Count, response.RemovedNames.Count);
    }

    /// <summary>Called by <see cref="RunAsync"/> when the stream ends.</summary>
    public void Dispose()
    {
        _readCredits.Dispose();
        _ended.Dispose();
        _reauthorizeNow.Dispose();
    }

    private static readonly IReadOnlyDictionary<string, string> NoResources =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());

    public Envoy.Service.Status.V3.ClientConfig? GetClientConfig()
    {
        lock (_statusGate)
        {
            return _node is null ? null : ClientStatusBuilder.Build(_node, _slotsInOrder);
        }
    }

    public XdsStreamStatus? GetStatus(bool withResources = true)
    {
        lock (_statusGate)
        {
            if (_node is null)
            {
                return null;
            }

            var types = _slotsInOrder.Select(s => new XdsTypeStatus(
                s.Type.TypeUrl,
                withResources ? s.State.Subscription.ToString() : string.Empty,
                s.LastSentVersion,
                s.LastSentNonce,
                s.LastSentAt,
                s.AckedVersion,
                s.LastNack,
                s.HasPending ? 1 : 0,
                s.Held is not null,
                s.ResponsesSent,
                s.Acks,
                s.Nacks,
                withResources
                    ? s.State.HeldResources().ToDictionary(h => h.Name, h => h.Version, StringComparer.Ordinal)
                    : NoResources) { AwaitingAck = s.AwaitingAck }).ToList();
            return new XdsStreamStatus(StreamId, Context.Protocol, _node, _openedAt, types);
        }
    }
}
