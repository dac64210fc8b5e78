using Envoy.Config.Core.V3;
using Google.Protobuf;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal.Encoding;

namespace XdsServer.Internal;

/// <summary>
/// One xDS stream, in parts with one owner each (docs/architecture.md, invariants 2 and 3):
/// <list type="bullet">
/// <item>this file: lifecycle (open, authorize, callbacks, close) and keeping the stream authorized, plus the
/// status views, which read only what the loop publishes;</item>
/// <item><see cref="StreamTransport{TRequest, TResponse}"/>: reads requests into a bounded queue, writes messages;</item>
/// <item>the session loop (XdsStream.Session.cs): applies requests, computes the answers of changed types, owns every
/// <see cref="TypeSlot"/> and is the only writer of per-type state;</item>
/// <item><see cref="ResponseOrdering"/>: make before break over ADS (held types, deferred removals);</item>
/// <item><see cref="ResponseWriter{TResponse}"/>: the send budget, metrics and the log line of each response.</item>
/// </list>
/// Caches never send: they signal "this type changed" (the slot's dirty flag) and wake the loop through a
/// <see cref="WakeSignal"/>; a cache that only answers one-shot watches leaves its answer in a
/// <see cref="PendingAnswer"/> (newest wins, one per type) behind the same slot interface (<see cref="ITypeAnswers"/>).
/// </summary>
internal abstract partial class XdsStream<TRequest> : IStreamStatusSource, IDisposable
    where TRequest : class
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    private readonly string? _fixedTypeUrl;
    private readonly DateTimeOffset _openedAt;
    // Cancelled by RunAsync when the stream ends (stops the reader and the authorization keeper); thread-safe.
    private readonly CancellationTokenSource _ended = new();

    // Released by Reauthorize (any thread, the registry), awaited by the authorization keeper alone; thread-safe.
    private readonly SemaphoreSlim _reauthorizeNow = new(0, 1);

    // Set once in RunAsync before the stream is registered or any other task starts; read by them afterwards.
    private StreamTransport<TRequest, OutgoingResponse>? _transport;
    private ResponseWriter<OutgoingResponse>? _writer;
    private Node? _node;

    protected XdsStream(XdsServerCore core, XdsProtocol protocol, string? fixedTypeUrl, ServerCallContext call)
    {
        Core = core;
        _fixedTypeUrl = fixedTypeUrl;
        Context = new XdsStreamContext(core.NextStreamId(), protocol, fixedTypeUrl, call, null);
        Cancellation = call.CancellationToken;
        _openedAt = core.Time.GetUtcNow();
        _ordering = fixedTypeUrl is null && core.Options.MakeBeforeBreak
            ? new ResponseOrdering(_slots, core.Logger, Context.StreamId)
            : null;
    }

    public XdsServerCore Core { get; }

    protected XdsStreamContext Context { get; }

    protected CancellationToken Cancellation { get; }

    public Node Node => _node ?? throw new InvalidOperationException("The stream has no node yet.");

    public Node? CurrentNode => _node;

    public long StreamId => Context.StreamId;

    public async Task RunAsync(IAsyncStreamReader<TRequest> requests, IServerStreamWriter<OutgoingResponse> responses)
    {
        var transport = new StreamTransport<TRequest, OutgoingResponse>(requests, responses, Core.Options.MaxQueuedRequestsPerStream, _wake);
        _transport = transport;
        _writer = new ResponseWriter<OutgoingResponse>(Core, StreamId, Context.Protocol, transport.WriteAsync);
        var opened = false;
        IDisposable? tracking = null;
        var reason = "client closed";
        try
        {
            if (await transport.ReadFirstAsync(Cancellation).ConfigureAwait(false) is not { } first)
            {
                return;
            }

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

            transport.StartReading(_ended.Token);
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
            // A server fault (a callback, an authorizer, a bug of ours): logged as an error with the exception, and the
            // client gets INTERNAL with a detail that says nothing of it (an exception's text may carry the server's
            // internals), not gRPC's UNKNOWN "Exception was thrown by handler".
            reason = "failed: " + e.Message;
            XdsLog.StreamFailed(Core.Logger, e, StreamId);
            throw XdsServerCore.Fail(StatusCode.Internal, "the server failed to serve the stream: an internal error, which the server logged");
        }
        finally
        {
            transport.End();
            await _ended.CancelAsync().ConfigureAwait(false);
            await transport.StopAsync().ConfigureAwait(false); // before the handler returns (see StopAsync)
            CloseSlots();
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
    private string? MalformedRequest(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is InvalidProtocolBufferException)
            {
                return $"the request is not a valid {RequestMessageName} message: {inner.Message}";
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
    /// through the request queue, so the loop stops before it sends anything else.
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
        _writer?.Revoke(error);
        _transport?.End(error); // the loop wakes, finds the queue ended with this error and stops
    }

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
        if (type.Sensitive && !HasSlot(type.TypeUrl))
        {
            Core.RequireConfidentialTransport(type, Context);
        }

        return type;
    }

    /// <summary>The name of the protocol's request message, for error details.</summary>
    protected abstract string RequestMessageName { get; }

    protected async ValueTask NotifyRequestAsync(IMessage request, ResourceType type)
    {
        Core.Metrics.Requests.Add(1, XdsMetrics.Type(type.ShortName), XdsMetrics.Protocol(Context.Protocol));
        foreach (var callbacks in Core.RequestCallbacks)
        {
            await callbacks.OnRequestAsync(Context, request, Cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Called by <see cref="RunAsync"/> when the stream ends.</summary>
    public void Dispose()
    {
        _ended.Dispose();
        _reauthorizeNow.Dispose();
    }

    private static readonly IReadOnlyDictionary<string, string> NoResources =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());

    // The views below run on any thread: they read only the slots' published status records and the published slot
    // list, never the loop's mutable state, and take no lock.

    public Envoy.Service.Status.V3.ClientConfig? GetClientConfig() =>
        _node is null ? null : ClientStatusBuilder.Build(_node, [.. PublishedSlots.Select(s => s.Status)]);

    public XdsStreamStatus? GetStatus(bool withResources = true)
    {
        if (_node is null)
        {
            return null;
        }

        var types = PublishedSlots.Select(slot =>
        {
            var s = slot.Status;
            return new XdsTypeStatus(
                s.Type.TypeUrl,
                withResources ? s.State.Subscription.ToString() : string.Empty,
                s.LastSentVersion,
                s.LastSentNonce,
                s.LastSentAt,
                s.AckedVersion,
                s.LastNack,
                slot.HasPendingAnswer ? 1 : 0,
                s.Parked,
                s.ResponsesSent,
                s.Acks,
                s.Nacks,
                withResources
                    ? s.State.HeldResources().ToDictionary(h => h.Name, h => h.Version, StringComparer.Ordinal)
                    : NoResources) { AwaitingAck = s.AwaitingAck };
        }).ToList();
        return new XdsStreamStatus(StreamId, Context.Protocol, _node, _openedAt, types);
    }
}
