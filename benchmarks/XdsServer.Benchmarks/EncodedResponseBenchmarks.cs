using System.Buffers;
using BenchmarkDotNet.Attributes;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal;
using XdsServer.Internal.Encoding;

namespace XdsServer.Benchmarks;

/// <summary>
/// One update reaching many streams that all hold the same subscription: <see cref="Streams"/> streams each send the
/// same SotW EDS answer of 1,000 load assignments (one <see cref="WatchResponse"/>, as the caches hand equal answers
/// the same resource list), each with its own nonce, through a gRPC serialization context into a buffer written in
/// 4 KiB chunks (as a pipe hands them out), plus the <c>bytes_sent</c> count.
/// Baseline (the path before pre-encoding): per stream, the message is built (<c>SotwStream.CreateResponse</c>), the
/// generated marshaller sizes and writes it, and <c>CalculateSize()</c> runs again for the metric.
/// Pre-encoded: a fresh <see cref="ResponseEncoder"/> per operation, so its one-time cost is inside (the first stream
/// writes the message, the second encodes the shared body, the rest copy it and add their nonce); the metric reads
/// <see cref="OutgoingResponse.Size"/>. "Nothing shared" gives every stream its own list (all first sightings): the
/// encoder's cost when no list is shared.
/// </summary>
public class EncodedResponseBenchmarks
{
    private const int Resources = 1_000;

    private readonly ChunkedSink _sink = new(64 << 20);
    private WatchResponse _answer = null!;
    private WatchResponse[] _distinct = null!;
    private string[] _nonces = null!;

    /// <summary>Streams that send the answer.</summary>
    [Params(1_000)]
    public int Streams { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var node = ResourceFactory.Node();
        using var cache = new SnapshotCache();
        cache.SetSnapshot(ResourceFactory.GroupKey, ResourceFactory.EdsSnapshot(ResourceFactory.LoadAssignments(Resources, revision: 0)));
        string[] names = [.. Enumerable.Range(0, Resources).Select(ResourceFactory.ServiceName)];
        var state = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(names);
        _answer = Answer(cache, node, state);
        _distinct = [.. Enumerable.Range(0, Streams).Select(_ => Answer(cache, node, state))];
        _nonces = [.. Enumerable.Range(1, Streams).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

        if (_answer.Resources.Count != Resources || _distinct.Select(d => d.Resources).Distinct().Count() != Streams)
        {
            throw new InvalidOperationException($"Unexpected answers: {_answer}; the per-stream answers must not share lists.");
        }

        // Both paths must write the same bytes, nonce included.
        var expected = SotwStream.CreateResponse(_answer, "42").ToByteArray();
        var encoder = new ResponseEncoder([]);
        encoder.Encode(_answer, "1");
        var shared = encoder.Encode(_answer, "42");
        if (!shared.IsShared || !Write(shared).SequenceEqual(expected))
        {
            throw new InvalidOperationException("The shared body plus nonce must be the message's bytes.");
        }
    }

    [Benchmark(Baseline = true, Description = "build + encode per stream")]
    public long PerStream()
    {
        long sent = 0;
        foreach (var nonce in _nonces)
        {
            var message = SotwStream.CreateResponse(_answer, nonce);
            _sink.Reset();
            MessageMarshaller.ContextualSerializer(message, _sink);
            sent += message.CalculateSize();
        }

        return sent;
    }

    [Benchmark(Description = "shared body + nonce")]
    public long Shared()
    {
        var encoder = new ResponseEncoder([]);
        long sent = 0;
        foreach (var nonce in _nonces)
        {
            var response = encoder.Encode(_answer, nonce);
            _sink.Reset();
            DiscoveryMarshallers.Outgoing.ContextualSerializer(response, _sink);
            sent += response.Size;
        }

        return sent;
    }

    [Benchmark(Description = "encoder, nothing shared")]
    public long NothingShared()
    {
        var encoder = new ResponseEncoder([]);
        long sent = 0;
        for (var i = 0; i < _distinct.Length; i++)
        {
            var response = encoder.Encode(_distinct[i], _nonces[i]);
            _sink.Reset();
            DiscoveryMarshallers.Outgoing.ContextualSerializer(response, _sink);
            sent += response.Size;
        }

        return sent;
    }

    /// <summary>What the generated service code does with a response message.</summary>
    private static readonly Marshaller<DiscoveryResponse> MessageMarshaller = DiscoveryMarshallers.For(DiscoveryResponse.Parser);

    private byte[] Write(OutgoingResponse response)
    {
        _sink.Reset();
        DiscoveryMarshallers.Outgoing.ContextualSerializer(response, _sink);
        return _sink.Written.ToArray();
    }

    private static WatchResponse Answer(SnapshotCache cache, Envoy.Config.Core.V3.Node node, ClientState state)
    {
        WatchResponse? answer = null;
        using (cache.CreateWatch(new WatchRequest(node, state), r => answer = r))
        {
            return answer ?? throw new InvalidOperationException("The cache should answer at once.");
        }
    }

    /// <summary>A serialization context over one preallocated buffer, handing out 4 KiB spans like a pipe.</summary>
    private sealed class ChunkedSink(int capacity) : SerializationContext, IBufferWriter<byte>
    {
        private const int Chunk = 4096;
        private readonly byte[] _buffer = new byte[capacity];
        private int _written;

        public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _written);

        public void Reset() => _written = 0;

        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override IBufferWriter<byte> GetBufferWriter() => this;

        public override void Complete()
        {
        }

        public override void Complete(byte[] payload) => throw new InvalidOperationException("the contextual path is used");

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.AsMemory(_written, Math.Max(sizeHint, Chunk));

        public Span<byte> GetSpan(int sizeHint = 0) => _buffer.AsSpan(_written, Math.Max(sizeHint, Chunk));
    }
}
