using Envoy.Service.Discovery.V3;

namespace XdsServer.Tests;

/// <summary>Make before break over delta ADS: the same ordering rules as SotW, said with removed_resources.</summary>
public class DeltaOrderingTests
{
    private static async Task<XdsProtocolClient> ConnectAsync(LoopbackXdsServer server)
    {
        var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.Cluster, subscribe: ["*"]);
        await client.AckDeltaAsync(await client.NextDeltaAsync("clusters"));
        await client.SendDeltaAsync(TypeUrls.RouteConfiguration, subscribe: ["hello-route"], withNode: false);
        await client.AckDeltaAsync(await client.NextDeltaAsync("routes"));
        return client;
    }

    private static string RouteTarget(DeltaDiscoveryResponse response) =>
        response.Resources.Single().Resource_.Unpack<Envoy.Config.Route.V3.RouteConfiguration>().VirtualHosts[0].Routes[0].Route_.Cluster;

    [Fact]
    public async Task New_cluster_goes_before_the_route_and_the_old_one_is_removed_after()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", OrderingTests.Mesh("a", "a"));
        await using var client = await ConnectAsync(server);

        // One update: add b, route to b, delete a.
        server.Snapshots.SetSnapshot("n1", OrderingTests.Mesh("b", "b"));

        var cds = await client.NextDeltaAsync("cluster b, with a's removal deferred");
        Assert.Equal(TypeUrls.Cluster, cds.TypeUrl);
        Assert.Equal(["b"], cds.Resources.Select(r => r.Name));
        Assert.Empty(cds.RemovedResources);
        var rds = await client.NextDeltaAsync("the route to b");
        Assert.Equal("b", RouteTarget(rds));
        await client.AckDeltaAsync(rds);
        await client.AckDeltaAsync(cds);

        var removal = await client.NextDeltaAsync("a's removal, now that nothing uses it");
        Assert.Equal(TypeUrls.Cluster, removal.TypeUrl);
        Assert.Empty(removal.Resources);
        Assert.Equal(["a"], removal.RemovedResources);
    }
}
