using Envoy.Service.Discovery.V3;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace XdsServer.Tests;

/// <summary>Make before break over ADS, across updates (docs/architecture.md, invariant 6), seen by an Envoy-like client:
/// wildcard clusters and listeners, endpoints and routes by name.</summary>
public class OrderingTests
{
    /// <summary>Listener hello → route hello-route → <paramref name="routeTo"/>, and EDS clusters.</summary>
    internal static Snapshot Mesh(string routeTo, params string[] clusters)
    {
        var builder = Snapshot.CreateBuilder()
            .Add(Fixtures.Listener("hello", "hello-route"))
            .Add(Fixtures.Route("hello-route", routeTo));
        foreach (var cluster in clusters)
        {
            builder.Add(Fixtures.Cluster(cluster)).Add(Fixtures.Endpoints(cluster, 1));
        }

        return builder.Build();
    }

    /// <summary>Subscribes like Envoy and ACKs everything; returns the client with every type ACKed.</summary>
    private static async Task<XdsProtocolClient> ConnectAsync(LoopbackXdsServer server, string[] clusters)
    {
        var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("clusters"));
        await client.SendAsync(TypeUrls.ClusterLoadAssignment, clusters, withNode: false);
        await client.AckAsync(await client.NextAsync("endpoints"), clusters);
        await client.SendAsync(TypeUrls.Listener, withNode: false);
        await client.AckAsync(await client.NextAsync("listeners"));
        await client.SendAsync(TypeUrls.RouteConfiguration, ["hello-route"], withNode: false);
        await client.AckAsync(await client.NextAsync("routes"), ["hello-route"]);
        return client;
    }

    private static string[] Clusters(DiscoveryResponse response) => SotwStreamTests.Names<ClusterProto>(response);

    private static string RouteTarget(DiscoveryResponse response) =>
        response.Resources.Single().Unpack<Envoy.Config.Route.V3.RouteConfiguration>().VirtualHosts[0].Routes[0].Route_.Cluster;

    [Fact]
    public async Task A_client_reconnecting_at_the_current_cluster_version_is_not_held_for_clusters_it_has()
    {
        // Envoy reconnects saying which clusters version it holds: nothing is re-sent, and the server must know the
        // client has those clusters, or a route referencing one would wait for a cluster that never comes.
        await using var server = await LoopbackXdsServer.StartAsync();
        var mesh = Mesh("a", "a");
        server.Snapshots.SetSnapshot("n1", mesh);
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster, version: mesh.GetVersion(TypeUrls.Cluster));
        await client.SendAsync(TypeUrls.RouteConfiguration, ["hello-route"], withNode: false);

        var rds = await client.NextAsync("the route, not held behind a cluster the client holds");
        Assert.Equal(TypeUrls.RouteConfiguration, rds.TypeUrl);
        Assert.Equal("a", RouteTarget(rds));
    }

    [Fact]
    public async Task A_route_to_a_new_cluster_waits_for_the_cluster_even_across_updates()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Mesh("a", "a"));
        await using var client = await ConnectAsync(server, ["a"]);

        // Update 1 changes cluster a: the CDS response goes out and stays un-ACKed for now.
        server.Snapshots.SetSnapshot("n1", Mesh("a", "a").ToBuilder().Set(Fixtures.Cluster("a", serviceName: "a")).Build());
        var cdsUpdate1 = await client.NextAsync("clusters of update 1");
        server.Snapshots.TryGetSnapshot("n1", out var afterUpdate1);

        // Update 2 adds cluster b and points the route at it. The route watch is open, the cluster watch is
        // not (its response awaits an ACK): the route must wait, or the client would route to nothing.
        server.Snapshots.SetSnapshot("n1", afterUpdate1!.ToBuilder()
            .Add(Fixtures.Cluster("b")).Add(Fixtures.Endpoints("b", 2))
            .Set(Fixtures.Route("hello-route", "b")).Build());
        await Eventually.TrueAsync(() => server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == TypeUrls.RouteConfiguration).HeldForOrdering,
            "the route to b to be held for cluster b");
        Assert.Equal(1, server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == TypeUrls.RouteConfiguration).ResponsesSent);

        await client.AckAsync(cdsUpdate1);
        var cds = await client.NextAsync("clusters with b");
        Assert.Equal(TypeUrls.Cluster, cds.TypeUrl);
        Assert.Equal(["a", "b"], Clusters(cds));
        var rds = await client.NextAsync("the route to b, after the cluster");
        Assert.Equal(TypeUrls.RouteConfiguration, rds.TypeUrl);
        Assert.Equal("b", RouteTarget(rds));
    }

    [Fact]
    public async Task A_cluster_is_removed_only_after_the_route_stops_using_it()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Mesh("a", "a", "b"));
        await using var client = await ConnectAsync(server, ["a", "b"]);

        // One update moves the route from a to b and deletes a.
        server.Snapshots.SetSnapshot("n1", Mesh("b", "b"));

        var cds = await client.NextAsync("clusters, still with a (the client's route uses it)");
        Assert.Equal(TypeUrls.Cluster, cds.TypeUrl);
        Assert.Equal(["a", "b"], Clusters(cds));
        var rds = await client.NextAsync("the route to b");
        Assert.Equal("b", RouteTarget(rds));
        await client.AckAsync(rds, ["hello-route"]);
        await client.AckAsync(cds);

        var removal = await client.NextAsync("clusters without a, now that nothing uses it");
        Assert.Equal(TypeUrls.Cluster, removal.TypeUrl);
        Assert.Equal(["b"], Clusters(removal));
    }

    [Fact]
    public async Task A_client_that_names_clusters_from_routes_is_never_held()
    {
        // gRPC clients ask for clusters by the names they read in routes: nothing may wait for a cluster
        // the client has not asked for yet.
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Mesh("a", "a"));
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Listener, ["hello"]);
        await client.AckAsync(await client.NextAsync("listener"), ["hello"]);
        await client.SendAsync(TypeUrls.RouteConfiguration, ["hello-route"], withNode: false);
        var rds = await client.NextAsync("the route");
        await client.AckAsync(rds, ["hello-route"]);
        await client.SendAsync(TypeUrls.Cluster, ["a"], withNode: false);
        await client.AckAsync(await client.NextAsync("cluster a"), ["a"]);

        server.Snapshots.TryGetSnapshot("n1", out var current);
        server.Snapshots.SetSnapshot("n1", current!.ToBuilder().Add(Fixtures.Cluster("b")).Add(Fixtures.Endpoints("b", 2))
            .Set(Fixtures.Route("hello-route", "b")).Build());

        Assert.Equal("b", RouteTarget(await client.NextAsync("the route to b, not held: b is not subscribed yet")));
    }
}
