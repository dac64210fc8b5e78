using System.Net;
using System.Text;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Status.V3;
using Microsoft.Extensions.DependencyInjection;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ClusterLoadAssignmentProto = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;

namespace XdsServer.Tests;

/// <summary>Option switches, per-type cache routing, REST fetch errors and CSDS streams, each over a real
/// loopback server.</summary>
public class ServerSwitchesTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static XdsTypeStatus TypeOf(LoopbackXdsServer server, string typeUrl) =>
        server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == typeUrl);

    [Fact]
    public async Task Without_make_before_break_a_route_to_a_new_cluster_is_not_held()
    {
        await using var server = await LoopbackXdsServer.StartAsync(options: o => o.MakeBeforeBreak = false);
        server.Snapshots.SetSnapshot("n1", OrderingTests.Mesh("a", "a"));
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("clusters"));
        await client.SendAsync(TypeUrls.RouteConfiguration, ["hello-route"], withNode: false);
        await client.AckAsync(await client.NextAsync("routes"), ["hello-route"]);

        // As in OrderingTests: the cluster response of update 1 stays un-ACKed, update 2 adds b and routes to it.
        server.Snapshots.SetSnapshot("n1", OrderingTests.Mesh("a", "a").ToBuilder().Set(Fixtures.Cluster("a", serviceName: "a")).Build());
        await client.NextAsync("clusters of update 1");
        server.Snapshots.TryGetSnapshot("n1", out var afterUpdate1);
        server.Snapshots.SetSnapshot("n1", afterUpdate1!.ToBuilder()
            .Add(Fixtures.Cluster("b")).Add(Fixtures.Endpoints("b", 2)).Set(Fixtures.Route("hello-route", "b")).Build());

        var rds = await client.NextAsync("the route to b, at once: ordering is off");
        Assert.Equal(TypeUrls.RouteConfiguration, rds.TypeUrl);
        Assert.Equal("b", rds.Resources.Single().Unpack<Envoy.Config.Route.V3.RouteConfiguration>().VirtualHosts[0].Routes[0].Route_.Cluster);
        Assert.False(TypeOf(server, TypeUrls.RouteConfiguration).HeldForOrdering);
    }

    [Fact]
    public async Task With_rest_fetch_off_the_rest_endpoints_are_not_mapped_and_grpc_fetch_still_works()
    {
        await using var server = await LoopbackXdsServer.StartAsync(options: o => o.EnableRestFetch = false);
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = server.Address, DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var rest = await http.PostAsync("/v3/discovery:clusters", Json("""{"node":{"id":"n1"}}"""));
        Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var cds = new Envoy.Service.Cluster.V3.ClusterDiscoveryService.ClusterDiscoveryServiceClient(channel);
        var fetched = await cds.FetchClustersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") });
        Assert.Equal(["hello-cluster"], SotwStreamTests.Names<ClusterProto>(fetched));
    }

    [Fact]
    public async Task Rest_fetch_errors_say_what_went_wrong()
    {
        await using var server = await LoopbackXdsServer.StartAsync(
            x => x.AddSnapshotCache().AddNodeAuthorizer<RefuseIntruder>(),
            o => o.MaxResourceNamesPerRequest = 10, http1: true);
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var http = new HttpClient { BaseAddress = server.Address };

        async Task<(HttpStatusCode, string)> Post(string path, string body)
        {
            using var response = await http.PostAsync(path, Json(body));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (code, text) = await Post("/v3/discovery:clusters", """{"node":{"id":"nobody"}}""");
        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Contains($"nothing is served yet for node 'nobody' and {TypeUrls.Cluster}", text);

        (code, text) = await Post("/v3/discovery:clusters", """{"node":{"id":"intruder"}}""");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Contains("node 'intruder' refused: not on the list", text);

        var names = string.Join(",", Enumerable.Range(0, 11).Select(i => $"\"c{i}\""));
        (code, text) = await Post("/v3/discovery:clusters", $$"""{"node":{"id":"n1"},"resource_names":[{{names}}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, code);
        Assert.Contains("names 11 resources; the limit is 10", text);

        (code, text) = await Post("/v3/discovery:clusters", $$"""{"node":{"id":"n1"},"type_url":"{{TypeUrls.Listener}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains($"type URL '{TypeUrls.Listener}' sent to the {TypeUrls.Cluster} fetch", text);

        (code, _) = await Post("/v3/discovery:clusters", """{"node":{"id":"n1"}}""");
        Assert.Equal(HttpStatusCode.OK, code);
    }

    [Fact]
    public async Task A_linear_cache_serves_its_type_over_sotw_and_delta_and_a_reconnect_gets_only_what_changed()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddLinearCache(EnvoyResourceTypes.ClusterLoadAssignment));
        var linear = server.Services.GetRequiredKeyedService<LinearCache>(TypeUrls.ClusterLoadAssignment);
        linear.SetResources([Fixtures.Endpoints("a", 1), Fixtures.Endpoints("b", 2)]);
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("a")).Add(Fixtures.Endpoints("a", 99)).Build());

        // SotW: clusters come from the snapshot, endpoints from the linear cache (not the snapshot's port 99).
        await using var sotw = XdsProtocolClient.Sotw(server.Address, "n1");
        await sotw.SendAsync(TypeUrls.Cluster);
        await sotw.AckAsync(await sotw.NextAsync("clusters from the snapshot cache"));
        await sotw.SendAsync(TypeUrls.ClusterLoadAssignment, ["a"], withNode: false);
        var eds = await sotw.NextAsync("endpoints from the linear cache");
        Assert.Equal(1u, eds.Resources.Single().Unpack<ClusterLoadAssignmentProto>().Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue);
        await sotw.AckAsync(eds, ["a"]);

        // Delta, on another node: the linear cache serves every node.
        await using var delta = XdsProtocolClient.Delta(server.Address, "n2");
        await delta.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["a", "b"]);
        var first = await delta.NextDeltaAsync("endpoints a and b");
        Assert.Equal(["a", "b"], first.Resources.Select(r => r.Name).Order());
        await delta.AckDeltaAsync(first);
        var held = first.Resources.ToDictionary(r => r.Name, r => r.Version);

        linear.UpdateResource(Fixtures.Endpoints("a", 3));
        Assert.Equal("a", (await sotw.NextAsync("a's update over SotW")).Resources.Single().Unpack<ClusterLoadAssignmentProto>().ClusterName);
        var update = await delta.NextDeltaAsync("a's update over delta");
        Assert.Equal(["a"], update.Resources.Select(r => r.Name));

        // A delta reconnect that holds a (old version) and b (current) gets a again and never b.
        await using var again = XdsProtocolClient.Delta(server.Address, "n2");
        await again.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["a", "b"], initialVersions: held);
        var resumed = await again.NextDeltaAsync("only a, which changed while away");
        Assert.Equal(["a"], resumed.Resources.Select(r => r.Name));
        Assert.Empty(resumed.RemovedResources);
    }

    [Fact]
    public async Task A_cache_added_for_one_type_serves_that_type_and_the_default_serves_the_rest()
    {
        var secrets = new SnapshotCache();
        secrets.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("from-the-type-cache")).Add(Fixtures.Endpoints("from-the-type-cache", 1)).Build());
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddCache(TypeUrls.Cluster, _ => secrets));
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        Assert.Equal(["from-the-type-cache"], SotwStreamTests.Names<ClusterProto>(await client.NextAsync("clusters from the per-type cache")));
        await client.SendAsync(TypeUrls.Listener, withNode: false);
        Assert.Equal(["hello"], SotwStreamTests.Names<Envoy.Config.Listener.V3.Listener>(await client.NextAsync("listeners from the default cache")));
        secrets.Dispose();
    }

    [Fact]
    public async Task Csds_streams_answer_each_request_and_show_delta_streams()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.Cluster, subscribe: ["*"]);
        var cds = await client.NextDeltaAsync("clusters");
        await client.AckDeltaAsync(cds);
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.Cluster).Acks == 1, "the clusters to be ACKed");

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        using var call = csds.StreamClientStatus();
        for (var i = 0; i < 2; i++)
        {
            var request = new ClientStatusRequest();
            request.NodeMatchers.Add(new Envoy.Type.Matcher.V3.NodeMatcher { NodeId = new Envoy.Type.Matcher.V3.StringMatcher { Exact = i == 0 ? "n1" : "other" } });
            await call.RequestStream.WriteAsync(request);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.True(await call.ResponseStream.MoveNext(wait.Token), "CSDS answers every request on its stream");
            var status = call.ResponseStream.Current;
            if (i == 0)
            {
                var config = Assert.Single(status.Config);
                Assert.Equal("n1", config.Node.Id);
                var clusters = config.GenericXdsConfigs.Single(c => c.TypeUrl == TypeUrls.Cluster && c.Name.Length > 0);
                Assert.Equal(Envoy.Admin.V3.ClientResourceStatus.Acked, clusters.ClientStatus);
                Assert.Equal(cds.SystemVersionInfo, clusters.VersionInfo);
            }
            else
            {
                Assert.Empty(status.Config);
            }
        }

        await call.RequestStream.CompleteAsync();
    }

    private sealed class RefuseIntruder : INodeAuthorizer
    {
        public ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Envoy.Config.Core.V3.Node node, CancellationToken cancellationToken) =>
            ValueTask.FromResult(node.Id == "intruder" ? NodeAuthorization.Refused("not on the list") : NodeAuthorization.Allowed);
    }
}
