using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Internal;
using XdsServer.Internal.Encoding;

namespace XdsServer.Tests;

/// <summary>Responses encoded once and written as shared bytes plus each stream's nonce
/// (src/XdsServer/Internal/Encoding).</summary>
public class EncodedResponseTests
{
    private static readonly Envoy.Config.Core.V3.Node Node = Fixtures.Node("n1");

    [Fact]
    public void Sotw_bytes_are_exactly_those_of_the_message()
    {
        var answer = Answer(ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]), Clusters("a", "b", "c"));
        Assert.Equal(3, answer.Resources.Count);
        AssertSameBytes(answer, SotwStream.CreateResponse(answer, "17"), "17");
    }

    [Fact]
    public void Delta_bytes_with_removed_names_are_exactly_those_of_the_message()
    {
        var state = ClientState.ForDelta(EnvoyResourceTypes.Cluster)
            .ApplyDeltaRequest(["a", "gone", "also-gone"], [], new Dictionary<string, string> { ["gone"] = "1", ["also-gone"] = "2" });
        var answer = Answer(state, Clusters("a", "b"));
        Assert.Single(answer.Resources);
        Assert.Equal(["also-gone", "gone"], answer.RemovedNames.Order(StringComparer.Ordinal));
        AssertSameBytes(answer, DeltaStream.CreateResponse(answer, "4"), "4");
    }

    [Fact]
    public void Responses_without_resources_are_exactly_those_of_the_message()
    {
        var sotw = Answer(ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]), Clusters());
        Assert.Empty(sotw.Resources);
        AssertSameBytes(sotw, SotwStream.CreateResponse(sotw, "1"), "1");

        var delta = Answer(ClientState.ForDelta(EnvoyResourceTypes.Cluster)
            .ApplyDeltaRequest(["gone"], [], new Dictionary<string, string> { ["gone"] = "1" }), Clusters("a"));
        Assert.Empty(delta.Resources);
        Assert.Equal(["gone"], delta.RemovedNames);
        AssertSameBytes(delta, DeltaStream.CreateResponse(delta, "123456789012345678"), "123456789012345678");
    }

    [Fact]
    public void A_body_is_encoded_once_for_the_same_content_and_each_response_keeps_its_nonce()
    {
        var encoder = new ResponseEncoder([]);
        var answer = Answer(ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]), Clusters("a", "b"));

        var first = encoder.Encode(answer, "1");
        Assert.False(first.IsShared); // first seen: a list that may never be shared costs no extra copy
        var second = encoder.Encode(answer, "2");
        var third = encoder.Encode(answer, "300");
        Assert.True(second.IsShared && third.IsShared);
        Assert.Equal(1, encoder.BodiesEncoded);
        Assert.Equal("2", Parse(second, delta: false).Nonce);
        Assert.Equal("300", Parse(third, delta: false).Nonce);

    }

    [Fact]
    public void Only_callbacks_that_implement_OnResponseAsync_get_a_message_built()
    {
        Assert.False(ResponseEncoder.WantsResponses(new Silent()));
        Assert.True(ResponseEncoder.WantsResponses(new Listening()));
        Assert.IsType<Listening>(Assert.Single(new ResponseEncoder([new Silent(), new Listening()]).ResponseCallbacks));
    }

    [Fact]
    public async Task Streams_with_the_same_answer_share_one_body_and_get_their_own_nonces()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        var encoder = server.Services.GetRequiredService<XdsServerCore>().Encoder;
        var before = encoder.BodiesEncoded;

        // Stream a takes a cluster response first, so its listener response carries nonce 2; b's carries 1.
        await using var a = XdsProtocolClient.Sotw(server.Address, "n1");
        await a.SendAsync(TypeUrls.Cluster);
        var clusters = await a.NextAsync("clusters on a");
        await a.SendAsync(TypeUrls.Listener, withNode: false);
        var listenersA = await a.NextAsync("listeners on a");

        var others = new List<DiscoveryResponse>();
        for (var i = 0; i < 3; i++)
        {
            await using var b = XdsProtocolClient.Sotw(server.Address, "n1");
            await b.SendAsync(TypeUrls.Listener);
            others.Add(await b.NextAsync($"listeners on stream {i + 2}"));
        }

        // A wildcard listener answer carries the set's shared sorted list: the first stream marks it, the second
        // encodes the body, the rest copy it.
        Assert.Equal(1, encoder.BodiesEncoded - before);
        Assert.NotEqual(clusters.Nonce, listenersA.Nonce);
        Assert.All(others, b => Assert.NotEqual(listenersA.Nonce, b.Nonce));
        Assert.All(others, b => Assert.Equal(WithoutNonce(listenersA), WithoutNonce(b)));
    }

    [Fact]
    public async Task A_callback_sees_the_message_that_was_written()
    {
        var seen = new Listening();
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().Services.AddSingleton<IXdsCallbacks>(seen));
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        for (var i = 0; i < 3; i++)
        {
            await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
            await client.SendAsync(TypeUrls.Listener);
            var written = await client.NextAsync($"listeners on stream {i + 1}");
            await Eventually.TrueAsync(() => seen.Responses.Count == i + 1, "the callback to see the response");
            Assert.Equal(written, seen.Responses[i]);
        }
    }

    private static void AssertSameBytes(WatchResponse answer, IMessage expected, string nonce)
    {
        var wanted = expected.ToByteArray();
        var encoder = new ResponseEncoder([]);
        var single = encoder.Encode(answer, nonce);
        var shared = encoder.Encode(answer, nonce);
        Assert.False(single.IsShared);
        Assert.Equal(answer.Resources.Count > 0, shared.IsShared);
        foreach (var response in new[] { single, shared })
        {
            var bytes = Marshal(response);
            Assert.Equal(response.Size, bytes.Length);
            Assert.Equal(wanted, bytes);
            Assert.Equal(expected, response.ToMessage());
        }
    }

    private static DiscoveryResponse Parse(OutgoingResponse response, bool delta) =>
        delta ? throw new NotSupportedException() : DiscoveryResponse.Parser.ParseFrom(Marshal(response));

    private static DiscoveryResponse WithoutNonce(DiscoveryResponse response)
    {
        var copy = response.Clone();
        copy.Nonce = string.Empty;
        return copy;
    }

    /// <summary>Writes through the gRPC marshaller, as the server does.</summary>
    private static byte[] Marshal(OutgoingResponse response)
    {
        var context = new BufferContext();
        DiscoveryMarshallers.Outgoing.ContextualSerializer(response, context);
        Assert.True(context.Completed);
        Assert.Equal(context.PayloadLength, context.Buffer.WrittenCount);
        return context.Buffer.WrittenSpan.ToArray();
    }

    private static string[] Clusters(params string[] names) => names;

    private static WatchResponse Answer(ClientState state, string[] clusters)
    {
        using var cache = new SnapshotCache();
        var builder = Snapshot.CreateBuilder();
        builder.For(TypeUrls.Cluster); // the type is served even without clusters
        builder.Add(clusters.SelectMany(c => new IMessage[] { Fixtures.Cluster(c), Fixtures.Endpoints(c, 8080) }));
        cache.SetSnapshot("n1", builder.Build());
        WatchResponse? answer = null;
        using (cache.CreateWatch(new WatchRequest(Node, state), r => answer = r))
        {
            return answer ?? throw new InvalidOperationException("The cache should answer at once.");
        }
    }

    private sealed class BufferContext : SerializationContext
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(16); // small chunks: the copy loop is exercised

        public int PayloadLength { get; private set; } = -1;

        public bool Completed { get; private set; }

        public override void SetPayloadLength(int payloadLength) => PayloadLength = payloadLength;

        public override IBufferWriter<byte> GetBufferWriter() => Buffer;

        public override void Complete() => Completed = true;

        public override void Complete(byte[] payload) => throw new InvalidOperationException("the contextual path must be used");
    }

    private sealed class Silent : IXdsCallbacks;

    private sealed class Listening : IXdsCallbacks
    {
        public List<IMessage> Responses { get; } = [];

        public ValueTask OnResponseAsync(XdsStreamContext stream, IMessage response, CancellationToken cancellationToken)
        {
            lock (Responses)
            {
                Responses.Add(response);
            }

            return ValueTask.CompletedTask;
        }
    }
}
