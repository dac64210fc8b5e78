using System.Net;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Net.Client;

namespace XdsLoad;

/// <summary>
/// The simulated proxies, their HTTP/2 connections (one <see cref="GrpcChannel"/> with its own
/// <see cref="SocketsHttpHandler"/> per connection, <c>--streams-per-connection</c> proxies on each) and the
/// counters they share.
/// </summary>
internal sealed class ProxyFleet : IAsyncDisposable
{
    private readonly LoadOptions _options;
    private readonly Uri _server;
    private readonly string[]? _initialVersions;
    private readonly Func<int, Node>? _nodes;
    private ChangeProbe? _probe;
    private readonly List<GrpcChannel> _channels = [];
    private Task[] _runs = [];
    private CancellationTokenSource _cancel = new();
    private bool _stopped;
    private long _bytes;
    private long _responses;
    private long _resources;
    private long _resourceBytes;
    private long _clientNacks;
    private long _streamErrors;
    private long _redundant;
    private long _connectRetries;
    private int _synced;
    private string? _lastNack;
    private string? _lastStreamError;

    /// <summary>A fleet against XdsLoad.Server: every proxy is synced at the versions <c>/setup</c> returned.</summary>
    public ProxyFleet(LoadOptions options, Uri server, SetupResult setup)
        : this(options, server, [.. XdsType.Urls.Select(u => setup.Versions[u])], nodes: null)
    {
    }

    /// <summary>A fleet of proxies with their own nodes (<paramref name="nodes"/>: index → node) and per-proxy
    /// configuration: a proxy is synced once it has ACKed each of the four types (<paramref name="initialVersions"/>
    /// null), else at exactly those versions.</summary>
    public ProxyFleet(LoadOptions options, Uri server, string[]? initialVersions, Func<int, Node>? nodes)
    {
        _options = options;
        _server = server;
        _initialVersions = initialVersions;
        _nodes = nodes;
        Proxies = [.. Enumerable.Range(0, options.Proxies).Select(i => options.IsDelta ? (SimulatedProxy)new DeltaProxy(i, this) : new SotwProxy(i, this))];
    }

    public SimulatedProxy[] Proxies { get; }

    public ResourceCatalog Catalog { get; } = new();

    /// <summary>Paces stream opening: at most this many proxies between "start" and "first request written".</summary>
    public SemaphoreSlim ConnectGate { get; } = new(256);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Responses => Interlocked.Read(ref _responses);

    /// <summary>Resources received (in responses of every type; a delta removal is not a resource).</summary>
    public long Resources => Interlocked.Read(ref _resources);

    /// <summary>Bytes of the resource bodies received (the <c>Any</c> values), without the response envelope.</summary>
    public long ResourceBytes => Interlocked.Read(ref _resourceBytes);

    public long ClientNacks => Interlocked.Read(ref _clientNacks);

    public string? LastNack => Volatile.Read(ref _lastNack);

    public long StreamErrors => Interlocked.Read(ref _streamErrors);

    public string? LastStreamError => Volatile.Read(ref _lastStreamError);

    public long RedundantResends => Interlocked.Read(ref _redundant);

    public int SyncedCount => Volatile.Read(ref _synced);

    public int ConnectedCount => Proxies.Count(p => p.Connected);

    public void Received(int bytes, int resources, long resourceBytes)
    {
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Increment(ref _responses);
        Interlocked.Add(ref _resources, resources);
        Interlocked.Add(ref _resourceBytes, resourceBytes);
    }

    public void ClientNack(string error)
    {
        Interlocked.Increment(ref _clientNacks);
        Volatile.Write(ref _lastNack, error);
    }

    public void StreamError(string error)
    {
        Interlocked.Increment(ref _streamErrors);
        Volatile.Write(ref _lastStreamError, error);
    }

    public void Redundant() => Interlocked.Increment(ref _redundant);

    /// <summary>Streams retried because they failed before any response (see <see cref="SimulatedProxy.RunAsync"/>).</summary>
    public long ConnectRetries => Interlocked.Read(ref _connectRetries);

    public void ConnectRetry() => Interlocked.Increment(ref _connectRetries);

    public void OnSynced() => Interlocked.Increment(ref _synced);

    /// <summary>The change proxies are watched for (see <see cref="ChangeProbe"/>); null between changes.</summary>
    public ChangeProbe? Probe
    {
        get => Volatile.Read(ref _probe);
        set => Volatile.Write(ref _probe, value);
    }

    /// <summary>The node of proxy <paramref name="index"/>.</summary>
    public Node NodeFor(int index) =>
        _nodes?.Invoke(index) ?? new Node { Id = $"proxy-{index}", Cluster = "xdsload", UserAgentName = "xdsload" };

    public bool IsInitialConfig(string?[] acked)
    {
        for (var t = 0; t < XdsType.Count; t++)
        {
            var version = Volatile.Read(ref acked[t]);
            if (_initialVersions is null ? version is null : !string.Equals(version, _initialVersions[t], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Opens the connections and starts every proxy's stream (<paramref name="resume"/>: a reconnect).</summary>
    public void Start(bool resume)
    {
        var perConnection = _options.StreamsPerConnection;
        var token = _cancel.Token;
        var runs = new Task[Proxies.Length];
        for (var c = 0; c * perConnection < Proxies.Length; c++)
        {
            var channel = GrpcChannel.ForAddress(_server, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    EnableMultipleHttp2Connections = false,
                    PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                    ConnectTimeout = TimeSpan.FromSeconds(30),
                },
                MaxReceiveMessageSize = null,
                MaxSendMessageSize = null,

                // The channel does not own a handler it is given unless told so: without this, disposing the channels
                // on a reconnect left every old connection open (idle timeout infinite), so a 10,000-proxy reconnect
                // held 20,000 sockets on both sides until a process hit the file descriptor limit.
                DisposeHttpClient = true,
            });
            _channels.Add(channel);
            var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel);
            for (var i = c * perConnection; i < Math.Min(Proxies.Length, (c + 1) * perConnection); i++)
            {
                var proxy = Proxies[i];
                runs[i] = Task.Run(() => proxy.RunAsync(client, resume, token), CancellationToken.None);
            }
        }

        _runs = runs;
    }

    /// <summary>Drops every stream and connection (client side), then starts again from the state held.</summary>
    public async Task ReconnectAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _cancel = new CancellationTokenSource();
        _stopped = false;
        Start(resume: true);
    }

    /// <summary>Polls <paramref name="done"/> every 50 ms; false on timeout.</summary>
    public static async Task<bool> WaitAsync(Func<bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        return true;
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _cancel.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_runs).ConfigureAwait(false);
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        _channels.Clear();
        _cancel.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        ConnectGate.Dispose();
    }
}
