using Envoy.Service.Discovery.V3;

namespace XdsServer.Tests;

/// <summary>Make before break across updates on a delta stream (docs/architecture.md, invariant 6): the proof
/// <see cref="OrderingTests"/> gives for SotW, said with delta responses.</summary>
public class DeltaOrderingAcrossUpdatesTests
{
    private static XdsTypeStatus TypeOf(LoopbackXdsServer server, string typeUrl) =>
        server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == typeUrl);

    private static string RouteTarget(DeltaDiscoveryResponse response) =>
        response.Resources.Single().Resource_.Unpack<Envoy.Config.Route.V3.RouteConfiguration>().VirtualHosts[0].Routes[0].Route_.Cluster;

    [Fact]
    public async Task A_route_to_a_new_cluster_waits_for_the_cluster_even_across_updates()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", OrderingTests.Mesh("a", "a"));
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.Cluster, subscribe: ["*"]);
        await client.AckDeltaAsync(await client.NextDeltaAsync("clusters"));
        await client.SendDeltaAsync(TypeUrls.RouteConfiguration, subscribe: ["hello-route"], withNode: false);
        await client.AckDeltaAsync(await client.NextDeltaAsync("routes"));
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.RouteConfiguration).Acks == 1, "the route to be ACKed");

        // Update 1 changes cluster a: its response goes out and stays un-ACKed for now.
        server.Snapshots.SetSnapshot("n1", OrderingTests.Mesh("a", "a").ToBuilder().Set(Fixtures.Cluster("a", serviceName: "a")).Build());
        var cdsUpdate1 = await client.NextDeltaAsync("clusters of update 1");
        Assert.Equal((TypeUrls.Cluster, "a"), (cdsUpdate1.TypeUrl, cdsUpdate1.Resources.Single().Name));
        server.Snapshots.TryGetSnapshot("n1", out var afterUpdate1);

        // Update 2 adds cluster b and points the route at it. The cluster watch is not open (its response
        // awaits an ACK), so the route is held: the client would otherwise route to a cluster it lacks.
        server.Snapshots.SetSnapshot("n1", afterUpdate1!.ToBuilder()
            .Add(Fixtures.Cluster("b")).Add(Fixtures.Endpoints("b", 2))
            .Set(Fixtures.Route("hello-route", "b")).Build());
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.RouteConfiguration).HeldForOrdering,
            "the route to b to be held for cluster b");
        Assert.Equal(1, TypeOf(server, TypeUrls.RouteConfiguration).ResponsesSent);

        await client.AckDeltaAsync(cdsUpdate1);
        var cds = await client.NextDeltaAsync("cluster b");
        Assert.Equal(TypeUrls.Cluster, cds.TypeUrl);
        Assert.Equal(["b"], cds.Resources.Select(r => r.Name));
        var rds = await client.NextDeltaAsync("the route to b, after the cluster");
        Assert.Equal(TypeUrls.RouteConfiguration, rds.TypeUrl);
        Assert.Equal("b", RouteTarget(rds));
    }
}
