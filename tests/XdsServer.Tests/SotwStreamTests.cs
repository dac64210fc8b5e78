using Envoy.Service.Discovery.V3;
using Grpc.Core;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ListenerProto = Envoy.Config.Listener.V3.Listener;

namespace XdsServer.Tests;

/// <summary>State-of-the-world ADS over a real loopback gRPC stream, driven by the protocol-level client.</summary>
public class SotwStreamTests
{
    internal static Snapshot Hello(int port = 50051, string route = "hello-route", string listenerTag = "") => Snapshot.CreateBuilder()
        .Add(Fixtures.Listener("hello", route, listenerTag))
        .Add(Fixtures.Route(route, "hello-cluster"))
        .Add(Fixtures.Cluster("hello-cluster"))
        .Add(Fixtures.Endpoints("hello-cluster", port))
        .Build();

    internal static string[] Names<T>(DiscoveryResponse response)
        where T : Google.Protobuf.IMessage<T>, new() =>
        [.. response.Resources.Select(r => XdsResource.Create(r.Unpack<T>()).Name)];

    [Fact]
    public async Task Chain_is_served_and_acked_and_nothing_is_resent_for_an_unchanged_version()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Hello());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");

        await client.SendAsync(TypeUrls.Listener, ["hello"]);
        var lds = await client.NextAsync("the hello listener");
        Assert.Equal(TypeUrls.Listener, lds.TypeUrl);
        Assert.Equal(["hello"], Names<ListenerProto>(lds));
        Assert.NotEmpty(lds.Nonce);
        await client.AckAsync(lds, ["hello"]);

        await client.SendAsync(TypeUrls.RouteConfiguration, ["hello-route"], withNode: false);
        var rds = await client.NextAsync("the route configuration");
        Assert.Single(rds.Resources);
        Assert.NotEqual(lds.Nonce, rds.Nonce);
        await client.AckAsync(rds, ["hello-route"]);

        // An ACK must not cause a resend: both ACKs applied, both watches open (unanswered), one response per type.
        await Settled.WatchingAsync(server, "n1", 2, types => types.All(t => t.Acks == 1), "both ACKs to be applied and both watches to wait");
        var status = Assert.Single(server.Status.GetStreams());
        Assert.All(status.Types, t => Assert.Equal(1, t.ResponsesSent));
        var ldsStatus = status.Types.Single(t => t.TypeUrl == TypeUrls.Listener);
        Assert.Equal(lds.VersionInfo, ldsStatus.AckedVersion);
        Assert.Equal(1, ldsStatus.Acks);
        Assert.Equal("hello", Assert.Single(ldsStatus.Resources).Key);
    }

    [Fact]
    public async Task A_nacked_version_is_never_resent_and_the_next_change_is_sent()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Hello());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Listener);
        var first = await client.NextAsync("listeners");
        await client.AckAsync(first);

        server.Snapshots.SetSnapshot("n1", Hello(listenerTag: "bad"));
        var rejected = await client.NextAsync("the listener the client will reject");
        await client.SendAsync(TypeUrls.Listener, version: first.VersionInfo, nonce: rejected.Nonce, error: "listener 'hello': boom");

        // A NACK is not a request for a resend: it is applied, the watch waits, and nothing more was sent.
        await Settled.WatchingAsync(server, "n1", 1, types => types.Single().Nacks == 1, "the NACK to be applied and the watch to wait");
        var type = server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == TypeUrls.Listener);
        Assert.Equal(2, type.ResponsesSent);
        Assert.Equal(1, type.Nacks);
        Assert.Equal(rejected.Nonce, type.LastNack!.Nonce);
        Assert.Equal(rejected.VersionInfo, type.LastNack.RejectedVersion);
        Assert.Equal("listener 'hello': boom", type.LastNack.Message);
        Assert.Equal(first.VersionInfo, type.AckedVersion);

        server.Snapshots.SetSnapshot("n1", Hello(listenerTag: "fixed"));
        var fixedResponse = await client.NextAsync("the next change after a NACK");
        Assert.NotEqual(rejected.VersionInfo, fixedResponse.VersionInfo);
        await client.AckAsync(fixedResponse);
        await Eventually.TrueAsync(() => server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == TypeUrls.Listener)
            .AckedVersion == fixedResponse.VersionInfo, "the fixed listener to be ACKed");
        Assert.Null(server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == TypeUrls.Listener).LastNack);
    }

    [Fact]
    public async Task A_request_with_a_stale_nonce_causes_no_response()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Hello());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.ClusterLoadAssignment, ["hello-cluster"]);
        var first = await client.NextAsync("endpoints");
        await client.AckAsync(first, ["hello-cluster"]);
        server.Snapshots.SetSnapshot("n1", Hello(port: 2));
        var second = await client.NextAsync("changed endpoints");

        // A request that answers the first response (a stale nonce) and adds a name: ignored entirely.
        server.Snapshots.TryGetSnapshot("n1", out var current);
        server.Snapshots.SetSnapshot("n1", current!.ToBuilder().Add(Fixtures.Cluster("other")).Add(Fixtures.Endpoints("other", 9))
            .Add(Fixtures.Cluster("third")).Add(Fixtures.Endpoints("third", 10)).Build());
        await client.SendAsync(TypeUrls.ClusterLoadAssignment, ["hello-cluster", "other"], first.VersionInfo, first.Nonce);
        // Then a request for listeners, which go after endpoints in ADS order: a response to the stale request
        // (endpoints with "other") would be sent before the listeners. So the next response shows it, with no quiet window.
        await client.SendAsync(TypeUrls.Listener, withNode: false);
        Assert.Equal(TypeUrls.Listener, (await client.NextAsync("listeners, and nothing for the stale request before them")).TypeUrl);

        // A request with the current nonce that names a different new resource is answered with just that one.
        await client.SendAsync(TypeUrls.ClusterLoadAssignment, ["hello-cluster", "third"], second.VersionInfo, second.Nonce);
        var third = await client.NextAsync("the endpoints the current request adds");
        Assert.Equal(["third"], Names<Envoy.Config.Endpoint.V3.ClusterLoadAssignment>(third));
        Assert.Equal(3, server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == TypeUrls.ClusterLoadAssignment).ResponsesSent);
    }

    [Fact]
    public async Task Per_type_service_serves_its_type_and_refuses_another()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Hello());
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var cds = new Envoy.Service.Cluster.V3.ClusterDiscoveryService.ClusterDiscoveryServiceClient(channel);
        using var call = cds.StreamClusters();
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") }); // type_url may be empty
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(["hello-cluster"], Names<ClusterProto>(call.ResponseStream.Current));

        await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Listener });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains($"type URL changed from '{TypeUrls.Cluster}' to '{TypeUrls.Listener}'", e.Status.Detail);

        DiscoveryResponse fetched;
        try
        {
            fetched = await cds.FetchClustersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") });
        }
        catch (RpcException failure)
        {
            throw new InvalidOperationException($"the fetch failed ({failure.Status}); the server logged:\n{server.Logs.Describe()}", failure);
        }

        Assert.Equal(["hello-cluster"], Names<ClusterProto>(fetched));
    }

    [Fact]
    public async Task When_the_last_stream_of_a_node_closes_its_watches_and_status_go()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Hello());
        var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Listener);
        await client.AckAsync(await client.NextAsync("listeners"));
        await Eventually.TrueAsync(() => server.Snapshots.GetStatus("n1") is { OpenStreams: 1, OpenWatches: 1 }, "one stream and one watch");

        await client.DisposeAsync();

        await Eventually.TrueAsync(() => server.Snapshots.GetStatus("n1") is { OpenStreams: 0, OpenWatches: 0 } && server.Status.GetStreams().Count == 0,
            "the node's stream and watches to go");
        Assert.True(server.Snapshots.TryGetSnapshot("n1", out _), "the snapshot stays");
    }
}
