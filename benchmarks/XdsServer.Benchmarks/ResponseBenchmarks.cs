using BenchmarkDotNet.Attributes;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;
using XdsServer.Internal;

namespace XdsServer.Benchmarks;

/// <summary>
/// The server's per-stream hot path after the cache has answered a watch: turning the answer into the response
/// message exactly as the streams do (<c>SotwStream.CreateResponse</c>, <c>DeltaStream.CreateResponse</c>) and
/// encoding it into a buffer, as gRPC does for each stream. The baseline re-encodes each resource
/// (<c>Any.Pack(message)</c>, what a server that keeps only message objects pays per stream); the server's path
/// copies the bytes each resource was serialized to once, when it entered the cache. Also the bookkeeping of an
/// ACK: applying a response to the stream's <see cref="ClientState"/>.
/// </summary>
public class ResponseBenchmarks
{
    private readonly byte[] _buffer = new byte[16 << 20];
    private WatchResponse _sotw = null!;
    private WatchResponse _delta = null!;
    private WatchResponse _deltaUpdate = null!;
    private ClientState _sotwState = null!;
    private ClientState _deltaState = null!;
    private ClientState _sotwHolding = null!;
    private string[] _names = null!;

    /// <summary>Resources in the response (ClusterLoadAssignments of ~150 bytes).</summary>
    [Params(100, 1_000, 10_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var node = ResourceFactory.Node();
        var snapshot = ResourceFactory.EdsSnapshot(ResourceFactory.LoadAssignments(N, revision: 0));

        using var cache = new SnapshotCache();
        cache.SetSnapshot(ResourceFactory.GroupKey, snapshot);
        // As Envoy subscribes to load assignments: by the names its clusters give, all of them.
        _names = [.. Enumerable.Range(0, N).Select(ResourceFactory.ServiceName)];
        _sotwState = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(_names);
        _deltaState = ClientState.ForDelta(EnvoyResourceTypes.ClusterLoadAssignment).ApplyDeltaRequest(["*"], []);
        _sotw = Answer(cache, node, _sotwState);
        _delta = Answer(cache, node, _deltaState);

        _sotwHolding = _sotwState.ApplyResponse(_sotw);

        // The delta client now holds the snapshot; 1 % changes.
        _deltaState = _deltaState.ApplyResponse(_delta);
        cache.SetSnapshot(ResourceFactory.GroupKey, ResourceFactory.WithChangedLoadAssignments(snapshot, N, 1.0));
        _deltaUpdate = Answer(cache, node, _deltaState);
        if (_sotw.Resources.Count != N || _delta.Resources.Count != N || _deltaUpdate.Resources.Count != Math.Max(1, N / 100))
        {
            throw new InvalidOperationException($"Unexpected answers: {_sotw}, {_delta}, {_deltaUpdate}.");
        }
        if (!SotwStream.CreateResponse(_sotw, "1").ToByteArray().AsSpan().SequenceEqual(ReEncodedSotw().ToByteArray()))
        {
            throw new InvalidOperationException("Both ways must encode the same bytes.");
        }
    }

    [Benchmark(Description = "SotW response: cached bytes")]
    public int SotwCached() => Encode(SotwStream.CreateResponse(_sotw, "1"));

    [Benchmark(Description = "SotW response: re-encode each resource", Baseline = true)]
    public int SotwReEncoded() => Encode(ReEncodedSotw());

    [Benchmark(Description = "delta response: cached bytes")]
    public int DeltaCached() => Encode(DeltaStream.CreateResponse(_delta, "1"));

    [Benchmark(Description = "delta response: re-encode each resource")]
    public int DeltaReEncoded()
    {
        var message = new DeltaDiscoveryResponse { SystemVersionInfo = _delta.Version, TypeUrl = _delta.TypeUrl, Nonce = "1" };
        foreach (var resource in _delta.Resources)
        {
            message.Resources.Add(new Resource { Name = resource.Name, Version = resource.Version, Resource_ = Any.Pack(resource.Message) });
        }
        return Encode(message);
    }

    [Benchmark(Description = "ACK bookkeeping: SotW, all N")]
    public ClientState SotwAck() => _sotwState.ApplyResponse(_sotw);

    /// <summary>A SotW ACK repeats every subscribed name; the stream applies it as a request (fresh strings each
    /// time, as parsed off the wire).</summary>
    [Benchmark(Description = "ACK request: SotW, same N names")]
    public ClientState SotwAckRequest() => _sotwHolding.ApplySotwRequest([.. _names.Select(n => new string(n))], _sotw.Version);

    [Benchmark(Description = "ACK bookkeeping: delta, 1 % of N changed")]
    public ClientState DeltaAck() => _deltaState.ApplyResponse(_deltaUpdate);

    private DiscoveryResponse ReEncodedSotw()
    {
        var message = new DiscoveryResponse { VersionInfo = _sotw.Version, TypeUrl = _sotw.TypeUrl, Nonce = "1" };
        foreach (var resource in _sotw.Resources)
        {
            message.Resources.Add(Any.Pack(resource.Message));
        }
        return message;
    }

    private static WatchResponse Answer(SnapshotCache cache, Envoy.Config.Core.V3.Node node, ClientState state)
    {
        WatchResponse? answer = null;
        using (cache.CreateWatch(new WatchRequest(node, state), r => answer = r))
        {
            return answer ?? throw new InvalidOperationException("The cache should answer at once.");
        }
    }

    private int Encode(IMessage message)
    {
        var size = message.CalculateSize();
        message.WriteTo(_buffer.AsSpan(0, size));
        return size;
    }
}
