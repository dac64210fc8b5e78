using System.Diagnostics;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsLoad;

/// <summary>One ACK: the proxy accepted <see cref="Version"/> of type <see cref="Type"/> at <see cref="Timestamp"/>
/// (<c>Stopwatch.GetTimestamp()</c>, taken when the response was read).</summary>
internal readonly record struct AckRecord(int Type, string Version, long Timestamp);

/// <summary>
/// A simulated Envoy on one ADS stream: subscribes Cluster (wildcard), then the EDS names the clusters name, then
/// Listener (wildcard), then the route configurations the listeners name; ACKs what it accepts and NACKs (with
/// error_detail) what it cannot parse or what carries the wrong type URL. Its state outlives a stream, so a
/// reconnect resumes from it. The protocol variants implement <see cref="RunStreamAsync"/>.
/// </summary>
internal abstract class SimulatedProxy(int index, ProxyFleet fleet)
{
    private readonly List<AckRecord> _acks = [];
    private readonly string?[] _acked = new string?[XdsType.Count];
    private volatile bool _synced;
    private bool _connected;
    private long _responses;
    private ChangeProbe? _hitProbe;
    private long _hitAt;
    private bool _dropNextChange;

    public int Index { get; } = index;

    protected ProxyFleet Fleet { get; } = fleet;

    /// <summary>The node sent on the first request of each stream (the fleet's node factory, else a plain one).</summary>
    protected Node Node { get; } = fleet.NodeFor(index);

    /// <summary>Responses this proxy has read, of every type.</summary>
    public long ResponseCount => Interlocked.Read(ref _responses);

    /// <summary>Set before the run: stop reading the response stream once the initial config is ACKed.</summary>
    public bool StallAfterSync { get; set; }

    public bool Synced => _synced;

    public long SyncedAt { get; private set; }

    /// <summary>True once the current stream has written its first request.</summary>
    public bool Connected
    {
        get => Volatile.Read(ref _connected);
        private set => Volatile.Write(ref _connected, value);
    }

    /// <summary>Types this proxy has asked for (it resumes them on reconnect).</summary>
    protected bool[] Requested { get; } = new bool[XdsType.Count];

    public string? AckedVersion(int type) => Volatile.Read(ref _acked[type]);

    public AckRecord[] Acks()
    {
        lock (_acks)
        {
            return [.. _acks];
        }
    }

    private const int ConnectAttempts = 8;

    /// <summary>Runs one stream until it ends or <paramref name="cancel"/> fires; <paramref name="resume"/> is true
    /// on a reconnect (send what is held: SotW versions, delta initial_resource_versions). A stream that fails as
    /// UNAVAILABLE before any response (the connection could not be made: at 10,000 proxies on a busy machine the
    /// server's accept backlog overflows) is retried after a growing, jittered delay, as Envoy retries; the retries
    /// are counted (<see cref="ProxyFleet.ConnectRetries"/>), and the last failure is a stream error.</summary>
    public async Task RunAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, bool resume, CancellationToken cancel)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (!await RunOnceAsync(client, resume, attempt < ConnectAttempts, cancel).ConfigureAwait(false))
            {
                return;
            }

            Fleet.ConnectRetry();
            try
            {
                var delay = Math.Min(10_000, 500 << (attempt - 1));
                await Task.Delay(delay / 2 + Random.Shared.Next(delay / 2 + 1), cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One stream attempt; true when it failed before any response and may be retried.</summary>
    private async Task<bool> RunOnceAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, bool resume,
        bool mayRetry, CancellationToken cancel)
    {
        Connected = false;
        try
        {
            await Fleet.ConnectGate.WaitAsync(cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        var responses = ResponseCount;

        var gated = true;
        try
        {
            await RunStreamAsync(client, resume, () =>
            {
                Connected = true;
                if (gated)
                {
                    gated = false;
                    Fleet.ConnectGate.Release();
                }
            }, cancel).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancel.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && mayRetry && ResponseCount == responses)
        {
            return true;
        }
        catch (RpcException e)
        {
            Fleet.StreamError($"proxy {Index}: {e.Status.StatusCode} {e.Status.Detail}");
        }
        catch (IOException e)
        {
            Fleet.StreamError($"proxy {Index}: {e.Message}");
        }
        finally
        {
            if (gated)
            {
                Fleet.ConnectGate.Release();
            }
        }

        return false;
    }

    protected abstract Task RunStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, bool resume,
        Action connected, CancellationToken cancel);

    /// <summary>When this proxy first ACKed a response that <paramref name="probe"/> matched; null before.</summary>
    public long? HitAt(ChangeProbe probe)
    {
        lock (_acks)
        {
            return ReferenceEquals(_hitProbe, probe) ? _hitAt : null;
        }
    }

    /// <summary>Whether this proxy subscribes to resource <paramref name="name"/> of <paramref name="type"/>
    /// (by name: EDS and RDS).</summary>
    public abstract bool Subscribes(int type, string name);

    /// <summary>How many resources of <paramref name="type"/> this proxy subscribes to by name.</summary>
    public abstract int SubscribedCount(int type);

    /// <summary>What this proxy holds of <paramref name="type"/> now: name → digest of the bytes (SotW, where
    /// versions are per type, not per resource) or name → resource version (delta); see <see cref="HeldAsDigests"/>.
    /// A copy or an immutable set: safe to read while the proxy runs.</summary>
    public abstract IReadOnlyDictionary<string, string> HeldResources(int type);

    /// <summary>True: <see cref="HeldResources"/> holds digests; false: delta resource versions.</summary>
    public abstract bool HeldAsDigests { get; }

    /// <summary>Dropped-update self-test: the next response that would change what this proxy holds is ACKed but not
    /// applied (the proxy keeps its old resources), as a client bug or a lost update would leave it.</summary>
    public bool DropNextChange
    {
        get => Volatile.Read(ref _dropNextChange);
        set => Volatile.Write(ref _dropNextChange, value);
    }

    /// <summary>Called when a response would change what is held: false (and the drop is used up) when it is to be
    /// dropped.</summary>
    protected bool ApplyChange()
    {
        if (!DropNextChange || !_synced)
        {
            return true;
        }

        DropNextChange = false;
        return false;
    }

    /// <summary>Counts a response read (bytes, resources and their body bytes for the fleet, one for this proxy).</summary>
    protected void Received(int bytes, int resources, long resourceBytes)
    {
        Interlocked.Increment(ref _responses);
        Fleet.Received(bytes, resources, resourceBytes);
    }

    /// <summary>Records an accepted response (an ACK about to be sent); <paramref name="hit"/>: the fleet's current
    /// probe matched it.</summary>
    protected void Accept(int type, string version, long timestamp, ChangeProbe? hit = null)
    {
        if (hit is not null)
        {
            lock (_acks)
            {
                if (!ReferenceEquals(_hitProbe, hit))
                {
                    _hitProbe = hit;
                    _hitAt = timestamp;
                }
            }
        }

        lock (_acks)
        {
            _acks.Add(new AckRecord(type, version, timestamp));
        }

        Volatile.Write(ref _acked[type], version);
        if (!_synced && Fleet.IsInitialConfig(_acked))
        {
            SyncedAt = timestamp;
            _synced = true;
            Fleet.OnSynced();
        }
    }

    /// <summary>After handling a response: a stalled proxy stops reading here (until its stream is cancelled).</summary>
    protected Task StallIfAskedAsync(CancellationToken cancel) =>
        StallAfterSync && _synced ? Task.Delay(Timeout.Infinite, cancel) : Task.CompletedTask;

    protected static long Now() => Stopwatch.GetTimestamp();

    protected static Google.Rpc.Status Rejection(string error) => new() { Code = (int)StatusCode.InvalidArgument, Message = error };

    protected static bool SameNames(IReadOnlyCollection<string> a, IReadOnlyCollection<string> b) =>
        a.Count == b.Count && a.SequenceEqual(b, StringComparer.Ordinal);
}
