using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Internal;

namespace XdsServer.Tests;

/// <summary>A delta reconnect that lists hundreds of held versions, over a real loopback stream: the server reads
/// them off the wire without parsing them when the client is up to date (their digest), parses them when it is not,
/// and answers exactly what differs either way (src/XdsServer/Internal/Encoding/DeltaRequestReader.cs).</summary>
public class DeltaResumeTests
{
    private const int Count = 300;

    private static string Name(int i) => $"outbound|8080||service-{i:D4}.apps.svc.cluster.local";

    private static Snapshot Endpoints(int count, int changed = -1)
    {
        var builder = Snapshot.CreateBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Add(Fixtures.Endpoints(Name(i), i == changed ? 9999 : 1000 + i));
        }

        return builder.Build();
    }

    private static Dictionary<string, string> Versions(LoopbackXdsServer server) =>
        server.Snapshots.TryGetSnapshot("n1", out var snapshot)
            ? snapshot!.GetResources(TypeUrls.ClusterLoadAssignment)!.ToDictionary(r => r.Name, r => r.Version)
            : throw new InvalidOperationException("no snapshot");

    private static string[] Names(DeltaDiscoveryResponse response) => [.. response.Resources.Select(r => r.Name).Order(StringComparer.Ordinal)];

    private static Task ResumedAsync(LoopbackXdsServer server, string because) =>
        Eventually.TrueAsync(() => server.Status.GetStreams() is [{ Types: [{ PendingResponses: 0 } type] }]
            && type.Resources.Count > 0, because);

    [Fact]
    public async Task An_up_to_date_reconnect_with_hundreds_of_versions_is_sent_nothing_and_then_only_changes()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(Count));
        var held = Versions(server);
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: held.Keys, initialVersions: held);
        await ResumedAsync(server, "the resumed stream's request to be applied");
        var status = server.Status.GetStreams().Single().Types.Single();
        Assert.Equal(0, status.ResponsesSent);
        Assert.Equal(held, status.Resources); // what the server believes the client holds
        var core = server.Services.GetRequiredService<XdsServerCore>();
        Assert.Equal((0, 1, 0), (core.ResumedByNames, core.ResumedByDigest, core.ResumedByVersions)); // no version parsed

        server.Snapshots.SetSnapshot("n1", Endpoints(Count, changed: 7));
        var next = await client.NextDeltaAsync("the one endpoint changed after the silent resume");
        Assert.Equal([Name(7)], Names(next));
        Assert.Empty(next.RemovedResources);
    }

    [Fact]
    public async Task A_second_reconnect_with_the_same_names_is_recognised_without_parsing_a_name()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(Count));
        var held = Versions(server);
        string[] subscribe = [.. held.Keys, "outbound|8080||not-there.apps.svc.cluster.local"];
        await using var first = XdsProtocolClient.Delta(server.Address, "n1");
        await first.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: subscribe, initialVersions: held);
        var notThere = await first.NextDeltaAsync("the first stream told the name it subscribes to does not exist");
        Assert.Equal(["outbound|8080||not-there.apps.svc.cluster.local"], notThere.RemovedResources);

        // Another proxy of the same kind: same names (in another order), same versions, neither parsed.
        await using var second = XdsProtocolClient.Delta(server.Address, "n1");
        await second.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: subscribe.Reverse(), initialVersions: held);
        var again = await second.NextDeltaAsync("the second stream told the same");
        Assert.Equal(["outbound|8080||not-there.apps.svc.cluster.local"], again.RemovedResources);
        Assert.Empty(again.Resources);
        var core = server.Services.GetRequiredService<XdsServerCore>();
        Assert.Equal((1, 1, 0), (core.ResumedByNames, core.ResumedByDigest, core.ResumedByVersions));
        var status = server.Status.GetStreams().MaxBy(s => s.StreamId)!.Types.Single();
        Assert.Equal(held, status.Resources);
        Assert.Contains(Name(0), status.Subscription, StringComparison.Ordinal);

        // The names a resumed stream was given are its subscription: the next change of one reaches it.
        server.Snapshots.SetSnapshot("n1", Endpoints(Count, changed: 11));
        await first.AckDeltaAsync(notThere);
        await second.AckDeltaAsync(again);
        Assert.Equal([Name(11)], Names(await second.NextDeltaAsync("the changed endpoint on the second stream")));
    }

    [Fact]
    public async Task A_reconnect_that_is_behind_gets_exactly_what_differs()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(Count, changed: 3));
        var held = Versions(server);
        held[Name(3)] = "an-older-version";
        held.Remove(Name(5)); // never received
        held["outbound|8080||deleted.apps.svc.cluster.local"] = "v1"; // gone while away
        string[] subscribe = [.. held.Keys.Append(Name(5))];

        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: subscribe, initialVersions: held);
        var resumed = await client.NextDeltaAsync("what the reconnecting client lacks");
        Assert.Equal([Name(3), Name(5)], Names(resumed));
        Assert.Equal(["outbound|8080||deleted.apps.svc.cluster.local"], resumed.RemovedResources);
        var core = server.Services.GetRequiredService<XdsServerCore>();
        Assert.Equal((0, 0, 1), (core.ResumedByNames, core.ResumedByDigest, core.ResumedByVersions));
    }

    [Fact]
    public async Task A_request_callback_still_sees_every_held_version()
    {
        var seen = new RequestRecorder();
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().Services.AddSingleton<IXdsCallbacks>(seen));
        server.Snapshots.SetSnapshot("n1", Endpoints(Count));
        var held = Versions(server);
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: held.Keys, initialVersions: held);
        await ResumedAsync(server, "the resumed stream's request to be applied");

        var request = Assert.IsType<DeltaDiscoveryRequest>(Assert.Single(seen.Requests));
        Assert.Equal(held, request.InitialResourceVersions);
        Assert.Equal(0, server.Status.GetStreams().Single().Types.Single().ResponsesSent);
    }

    [Fact]
    public async Task Versions_written_after_the_other_fields_and_out_of_order_are_read_as_protobuf_defines()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(Count));
        var held = Versions(server);

        // The versions first (one entry written value-first, which changes its digest but not its meaning), then the
        // type and the node, then the names: the server must read the same request as the generated parser.
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        var first = true;
        foreach (var (name, version) in held)
        {
            VersionEntries.Write(output, name, version, valueFirst: first);
            first = false;
        }

        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(TypeUrls.ClusterLoadAssignment);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(Fixtures.Node("n1"));
        foreach (var name in held.Keys)
        {
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteString(name);
        }

        output.Flush();
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = RawDelta(channel);
        await call.RequestStream.WriteAsync(stream.ToArray());
        await ResumedAsync(server, "the out-of-order request to be applied");
        Assert.Equal(1, server.Services.GetRequiredService<XdsServerCore>().ResumedByVersions); // the value-first entry
        Assert.Equal(0, server.Status.GetStreams().Single().Types.Single().ResponsesSent);
        Assert.Equal(held, server.Status.GetStreams().Single().Types.Single().Resources);
    }

    [Fact]
    public async Task A_malformed_entry_among_hundreds_ends_the_stream_as_invalid_argument()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(Count));
        var request = new DeltaDiscoveryRequest { TypeUrl = TypeUrls.ClusterLoadAssignment, Node = Fixtures.Node("n1") };
        request.InitialResourceVersions.Add(Versions(server));
        // One more entry whose key claims more bytes than the entry holds.
        byte[] bytes = [.. request.ToByteArray(), 0x2A, 0x04, 0x0A, 0x7F, 0x61, 0x62];

        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = RawDelta(channel);
        await call.RequestStream.WriteAsync(bytes);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("the request is not a valid DeltaDiscoveryRequest message:", e.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "request contains an empty resource name")]
    [InlineData("bad\u0001name", "request contains a resource name with a control character (U+0001): 'bad\\u0001name'")]
    public async Task A_bad_name_among_hundreds_of_held_versions_is_refused(string bad, string detail)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(Count));
        var held = Versions(server);
        held[bad] = "1";
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["*"], initialVersions: held);
        var status = await client.EndAsync("the stream to end on the bad name");
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal($"{TypeUrls.ClusterLoadAssignment} {detail}", status.Detail);
    }

    /// <summary>A delta ADS call that writes the request bytes it is given.</summary>
    private static AsyncDuplexStreamingCall<byte[], byte[]> RawDelta(GrpcChannel channel)
    {
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "envoy.service.discovery.v3.AggregatedDiscoveryService",
            "DeltaAggregatedResources", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        return channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions());
    }

    private sealed class RequestRecorder : IXdsCallbacks
    {
        public List<IMessage> Requests { get; } = [];

        public ValueTask OnRequestAsync(XdsStreamContext stream, IMessage request, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add(request);
            }

            return ValueTask.CompletedTask;
        }
    }
}
