using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsServer.Testing;

/// <summary>
/// A protocol-level xDS client written from the xDS spec: it opens an ADS stream (state of the world or
/// delta), sends exactly the requests a test tells it to, and hands back each response, with bounded waits.
/// It does not ACK by itself: tests decide, so they can also NACK, go stale or stall.
/// </summary>
public sealed class XdsProtocolClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);
    private readonly GrpcChannel _channel;
    private readonly CancellationTokenSource _cts = new();
    private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse>? _sotw;
    private readonly AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>? _delta;
    private readonly Channel<object> _responses = Channel.CreateUnbounded<object>();
    private readonly SemaphoreSlim _credits = new(0);
    private Task _reader;
    private bool _reading;
    private bool _pumping;
    private volatile bool _unmetered;

    private XdsProtocolClient(Uri server, Node node, bool delta, bool read, GrpcChannelOptions? options, Grpc.Core.Metadata? headers = null)
    {
        Node = node;
        _channel = GrpcChannel.ForAddress(server, options ?? new GrpcChannelOptions { MaxReceiveMessageSize = null });
        var ads = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel);
        if (delta)
        {
            _delta = ads.DeltaAggregatedResources(headers, cancellationToken: _cts.Token);
            _reading = read; // before the pump starts: it reads freely only then
            _reader = read ? Pump(_delta.ResponseStream) : Task.CompletedTask;
        }
        else
        {
            _sotw = ads.StreamAggregatedResources(headers, cancellationToken: _cts.Token);
            _reading = read; // before the pump starts: it reads freely only then
            _reader = read ? Pump(_sotw.ResponseStream) : Task.CompletedTask;
        }
    }

    /// <summary>The node this client sends on its first request.</summary>
    public Node Node { get; }

    /// <summary>The status the stream ended with, once it ended.</summary>
    public Status? EndStatus { get; private set; }

    /// <summary>Opens a state-of-the-world ADS stream. With <paramref name="read"/> false, the client never
    /// reads a response (a stalled client).</summary>
    public static XdsProtocolClient Sotw(Uri server, string nodeId, bool read = true) =>
        new(server, new Node { Id = nodeId, Cluster = "test" }, delta: false, read, null);

    /// <summary>Opens a delta ADS stream.</summary>
    public static XdsProtocolClient Delta(Uri server, string nodeId, bool read = true) =>
        new(server, new Node { Id = nodeId, Cluster = "test" }, delta: true, read, null);

    /// <summary>Opens an ADS stream with a node, channel options (a TLS handler with a client certificate, say) and
    /// request headers (an <c>authorization</c> bearer token, say) of the caller's choosing.</summary>
    public static XdsProtocolClient Open(Uri server, Node node, bool delta = false, GrpcChannelOptions? options = null, Grpc.Core.Metadata? headers = null) =>
        new(server, node, delta, read: true, options ?? new GrpcChannelOptions { MaxReceiveMessageSize = null }, headers);

    /// <summary>Sends a SotW request; the first request of the stream carries the node.</summary>
    public Task SendAsync(string typeUrl, IEnumerable<string>? names = null, string version = "", string nonce = "",
        string? error = null, bool withNode = true)
    {
        var request = new DiscoveryRequest { TypeUrl = typeUrl, VersionInfo = version, ResponseNonce = nonce };
        request.ResourceNames.AddRange(names ?? []);
        if (withNode)
        {
            request.Node = Node;
        }

        if (error is not null)
        {
            request.ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = error };
        }

        return (_sotw ?? throw new InvalidOperationException("not a SotW client")).RequestStream.WriteAsync(request);
    }

    /// <summary>Sends a raw SotW request as given.</summary>
    public Task SendRawAsync(DiscoveryRequest request) => _sotw!.RequestStream.WriteAsync(request);

    /// <summary>Sends a raw delta request as given.</summary>
    public Task SendDeltaRawAsync(DeltaDiscoveryRequest request) => _delta!.RequestStream.WriteAsync(request);

    /// <summary>Lets a client opened with <c>read: false</c> read <paramref name="responses"/> more responses
    /// (all of them from now on when null): a stalled client that resumes, for a while or for good. Responses it
    /// does not read stay in the transport, so the server's writes block once the flow-control window is full.</summary>
    public void Allow(int? responses = null)
    {
        if (_reading)
        {
            throw new InvalidOperationException("this client reads every response already");
        }

        if (responses is { } count)
        {
            _credits.Release(count);
        }
        else
        {
            _unmetered = true;
            _credits.Release();
        }

        if (!_pumping)
        {
            _pumping = true;
            _reader = _delta is not null ? Pump(_delta.ResponseStream) : Pump(_sotw!.ResponseStream);
        }
    }

    /// <summary>ACKs a SotW response (same names as given).</summary>
    public Task AckAsync(DiscoveryResponse response, IEnumerable<string>? names = null) =>
        SendAsync(response.TypeUrl, names, response.VersionInfo, response.Nonce);

    /// <summary>Sends a delta request.</summary>
    public Task SendDeltaAsync(string typeUrl, IEnumerable<string>? subscribe = null, IEnumerable<string>? unsubscribe = null,
        string nonce = "", IReadOnlyDictionary<string, string>? initialVersions = null, string? error = null, bool withNode = true)
    {
        var request = new DeltaDiscoveryRequest { TypeUrl = typeUrl, ResponseNonce = nonce };
        request.ResourceNamesSubscribe.AddRange(subscribe ?? []);
        request.ResourceNamesUnsubscribe.AddRange(unsubscribe ?? []);
        foreach (var (name, version) in initialVersions ?? new Dictionary<string, string>())
        {
            request.InitialResourceVersions[name] = version;
        }

        if (withNode)
        {
            request.Node = Node;
        }

        if (error is not null)
        {
            request.ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = error };
        }

        return (_delta ?? throw new InvalidOperationException("not a delta client")).RequestStream.WriteAsync(request);
    }

    /// <summary>ACKs a delta response.</summary>
    public Task AckDeltaAsync(DeltaDiscoveryResponse response) => SendDeltaAsync(response.TypeUrl, nonce: response.Nonce, withNode: false);

    /// <summary>The next SotW response, or a clear failure after the wait.</summary>
    public async Task<DiscoveryResponse> NextAsync(string because, TimeSpan? wait = null) =>
        (DiscoveryResponse)await NextObjectAsync(because, wait);

    /// <summary>The next delta response, or a clear failure after the wait.</summary>
    public async Task<DeltaDiscoveryResponse> NextDeltaAsync(string because, TimeSpan? wait = null) =>
        (DeltaDiscoveryResponse)await NextObjectAsync(because, wait);

    /// <summary>True when no response arrives within <paramref name="quiet"/> (use only to show an absence;
    /// the wait is the claim being tested, not synchronisation).</summary>
    public async Task<bool> NothingWithinAsync(TimeSpan quiet)
    {
        using var timeout = new CancellationTokenSource(quiet);
        try
        {
            return !await _responses.Reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>Waits for the stream to end and returns its status.</summary>
    public async Task<Status> EndAsync(string because, TimeSpan? wait = null)
    {
        try
        {
            while (true)
            {
                await NextObjectAsync(because, wait);
            }
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }

    /// <summary>Half-closes the request side.</summary>
    public Task CompleteAsync() => _sotw is not null ? _sotw.RequestStream.CompleteAsync() : _delta!.RequestStream.CompleteAsync();

    private async Task<object> NextObjectAsync(string because, TimeSpan? wait)
    {
        using var timeout = new CancellationTokenSource(wait ?? DefaultWait);
        try
        {
            if (await _responses.Reader.WaitToReadAsync(timeout.Token) && _responses.Reader.TryRead(out var item))
            {
                return item;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no response within {(wait ?? DefaultWait).TotalSeconds:0.#} s: expected {because}");
        }
        catch (ChannelClosedException e) when (e.InnerException is RpcException rpc)
        {
            throw rpc;
        }

        throw new RpcException(EndStatus ?? Status.DefaultSuccess, $"the stream ended; expected {because}");
    }

    private async Task Pump<T>(IAsyncStreamReader<T> responses)
    {
        try
        {
            while (true)
            {
                if (!_reading && !_unmetered)
                {
                    await _credits.WaitAsync(_cts.Token); // a client that reads only when allowed
                }

                if (!await responses.MoveNext(_cts.Token))
                {
                    break;
                }

                _responses.Writer.TryWrite(responses.Current!);
            }

            EndStatus = Status.DefaultSuccess;
            _responses.Writer.TryComplete();
        }
        catch (RpcException e)
        {
            EndStatus = e.Status;
            _responses.Writer.TryComplete(e);
        }
        catch (Exception e)
        {
            _responses.Writer.TryComplete(e);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            await _reader;
        }
        catch (OperationCanceledException)
        {
        }

        _sotw?.Dispose();
        _delta?.Dispose();
        _channel.Dispose();
        _cts.Dispose();
        _credits.Dispose();
    }
}
