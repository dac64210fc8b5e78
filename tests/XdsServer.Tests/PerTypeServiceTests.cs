using Envoy.Service.Discovery.V3;
using Grpc.Core;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace XdsServer.Tests;

/// <summary>The per-type delta and fetch services (not ADS): each serves its own type and refuses another.</summary>
public class PerTypeServiceTests
{
    [Fact]
    public async Task Per_type_delta_service_serves_its_type_and_refuses_another()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var cds = new Envoy.Service.Cluster.V3.ClusterDiscoveryService.ClusterDiscoveryServiceClient(channel);
        using var call = cds.DeltaClusters();
        var subscribe = new DeltaDiscoveryRequest { Node = Fixtures.Node("n1") }; // type_url may be empty
        subscribe.ResourceNamesSubscribe.Add("*");
        await call.RequestStream.WriteAsync(subscribe);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.True(await call.ResponseStream.MoveNext(wait.Token));
        var response = call.ResponseStream.Current;
        Assert.Equal(TypeUrls.Cluster, response.TypeUrl);
        Assert.Equal(["hello-cluster"], response.Resources.Select(r => r.Name));

        await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Listener, ResponseNonce = response.Nonce });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(wait.Token));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains($"type URL changed from '{TypeUrls.Cluster}' to '{TypeUrls.Listener}'", e.Status.Detail);
    }

    [Fact]
    public async Task Per_type_fetch_serves_its_type_and_says_what_is_wrong()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var cds = new Envoy.Service.Cluster.V3.ClusterDiscoveryService.ClusterDiscoveryServiceClient(channel);

        Assert.Equal(["hello-cluster"], SotwStreamTests.Names<ClusterProto>(await cds.FetchClustersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") })));

        var mismatch = await Assert.ThrowsAsync<RpcException>(async () =>
            await cds.FetchClustersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1"), TypeUrl = TypeUrls.Listener }));
        Assert.Equal((StatusCode.InvalidArgument, $"type URL '{TypeUrls.Listener}' sent to the {TypeUrls.Cluster} fetch"),
            (mismatch.StatusCode, mismatch.Status.Detail));

        var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
            await cds.FetchClustersAsync(new DiscoveryRequest { Node = Fixtures.Node("nobody") }));
        Assert.Equal((StatusCode.NotFound, $"nothing is served yet for node 'nobody' and {TypeUrls.Cluster}"),
            (unknown.StatusCode, unknown.Status.Detail));

        var noNode = await Assert.ThrowsAsync<RpcException>(async () => await cds.FetchClustersAsync(new DiscoveryRequest()));
        Assert.Equal((StatusCode.InvalidArgument, "a fetch must carry a node with an id"), (noNode.StatusCode, noNode.Status.Detail));
        Assert.DoesNotContain(server.Logs.Entries, l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task A_stream_ended_by_a_bad_request_leaves_no_reader_behind_for_the_next_call_on_the_connection()
    {
        // Found under load: the ended stream's request reader kept running after its handler returned; Kestrel reuses
        // the body reader for the connection's next call, which then failed with UNKNOWN ("Exception was thrown by
        // handler", an InvalidOperationException reading the request). It happened in a few percent of rounds, so the test runs 100.
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var cds = new Envoy.Service.Cluster.V3.ClusterDiscoveryService.ClusterDiscoveryServiceClient(channel);
        for (var round = 0; round < 100; round++)
        {
            using (var call = cds.StreamClusters())
            {
                await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") });
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                Assert.True(await call.ResponseStream.MoveNext(wait.Token));
                await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Listener });
                Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(wait.Token))).StatusCode);
            }

            try
            {
                await cds.FetchClustersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") });
            }
            catch (RpcException e)
            {
                Assert.Fail($"round {round}: the fetch after an ended stream failed ({e.Status}); the server logged:\n{server.Logs.Describe()}");
            }
        }

        Assert.DoesNotContain(server.Logs.Entries, l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }
}
