using Envoy.Config.Endpoint.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using MeshHost.Demo;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Cache;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;

namespace MeshHost.Tests;

public class GrpcGeneratorTests
{
    private const string Reviews = "reviews.bookinfo.svc.cluster.local";
    private const string ReviewsRoute = "outbound|9080||" + Reviews;

    private static Proxy Client(string @namespace = "bookinfo") =>
        MeshFixture.Proxy("10.1.0.50", "grpc-client", @namespace, generator: "grpc");

    private static IEnumerable<T> All<T>(Snapshot snapshot, string typeUrl) =>
        snapshot.GetResources(typeUrl)!.Select(r => (T)r.Message);

    [Fact]
    public async Task A_proxyless_client_gets_an_api_listener_per_service_port_with_rds_fault_and_router()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);

        var snapshot = MeshGenerator.Generate(context, Client());

        var listeners = All<ListenerProto>(snapshot, TypeUrls.Listener).ToDictionary(l => l.Name);
        // The FQDN form for every service; the short forms istiod expands for the client's own namespace.
        foreach (var name in new[] { Reviews + ":9080", "reviews:9080", "reviews.bookinfo:9080", "reviews.bookinfo.svc:9080",
            "api.example.com:80", "istio-ingressgateway.istio-system.svc.cluster.local:80" })
        {
            Assert.True(listeners.ContainsKey(name), $"no listener {name}; have {string.Join(", ", listeners.Keys.Order())}");
        }
        Assert.DoesNotContain("istio-ingressgateway:80", listeners.Keys);
        var listener = listeners["reviews:9080"];
        Assert.Null(listener.Address); // C-core 1.46 rejects an api_listener with an address
        var hcm = listener.ApiListener.ApiListener_.Unpack<HttpConnectionManager>();
        Assert.Equal(ReviewsRoute, hcm.Rds.RouteConfigName);
        Assert.NotNull(hcm.Rds.ConfigSource.Ads);
        Assert.Equal(["envoy.filters.http.fault", "envoy.filters.http.router"], hcm.HttpFilters.Select(f => f.Name));

        // One route configuration per service port, its virtual host answering every listener name.
        var route = Assert.Single(All<RouteConfiguration>(snapshot, TypeUrls.RouteConfiguration), r => r.Name == ReviewsRoute);
        var host = Assert.Single(route.VirtualHosts);
        Assert.Contains(Reviews + ":9080", host.Domains);
        Assert.Contains("reviews:9080", host.Domains);
        Assert.NotEmpty(host.Routes);
    }

    [Fact]
    public async Task Every_cluster_a_route_names_is_an_eds_cluster_with_endpoints_and_no_tls()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);

        var snapshot = MeshGenerator.Generate(context, Client());

        var clusters = All<ClusterProto>(snapshot, TypeUrls.Cluster).ToDictionary(c => c.Name);
        var endpoints = All<ClusterLoadAssignment>(snapshot, TypeUrls.ClusterLoadAssignment).ToDictionary(e => e.ClusterName);
        foreach (var route in All<RouteConfiguration>(snapshot, TypeUrls.RouteConfiguration))
        {
            foreach (var action in route.VirtualHosts.SelectMany(h => h.Routes).Select(r => r.Route_).Where(a => a is not null))
            {
                var names = action.WeightedClusters is { } w ? w.Clusters.Select(c => c.Name).ToList() : [action.Cluster];
                foreach (var name in names)
                {
                    Assert.True(clusters.TryGetValue(name, out var cluster), $"{route.Name} routes to {name}, which is not a cluster");
                    Assert.Equal(ClusterProto.Types.DiscoveryType.Eds, cluster.Type);
                    Assert.NotNull(cluster.EdsClusterConfig.EdsConfig.Ads);
                    Assert.Null(cluster.TransportSocket);
                    Assert.Contains(cluster.LbPolicy, new[] { ClusterProto.Types.LbPolicy.RoundRobin, ClusterProto.Types.LbPolicy.RingHash });
                    Assert.True(endpoints.ContainsKey(cluster.EdsClusterConfig.ServiceName), $"no endpoints for {name}");
                }
            }
        }

        // The default reviews cluster: the three versions on 127.0.0.1, apart by port, in weighted localities.
        var reviews = endpoints[ReviewsRoute];
        Assert.All(reviews.Endpoints, l => Assert.True(l.LoadBalancingWeight > 0, "a locality without weight is ignored by gRPC"));
        var ports = reviews.Endpoints.SelectMany(l => l.LbEndpoints).Select(e => e.Endpoint.Address.SocketAddress)
            .Select(a => (a.Address, (int)a.PortValue)).Order().ToList();
        Assert.Equal(new[] { "reviews-v1", "reviews-v2", "reviews-v3" }.Select(n => ("127.0.0.1", demo.Workload(n).Port)).Order(), ports);
    }

    [Fact]
    public async Task The_reviews_subset_clusters_hold_only_their_versions_endpoint()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);

        var snapshot = MeshGenerator.Generate(context, Client());

        // Holds once ClusterBuilder.BuildOutbound (or RouteBuilder's subset routes) produce the subset clusters.
        var endpoints = All<ClusterLoadAssignment>(snapshot, TypeUrls.ClusterLoadAssignment).ToDictionary(e => e.ClusterName);
        foreach (var version in new[] { "v1", "v2", "v3" })
        {
            var name = $"outbound|9080|{version}|{Reviews}";
            Assert.True(endpoints.TryGetValue(name, out var assignment), $"no endpoints for {name}");
            var endpoint = Assert.Single(assignment.Endpoints.SelectMany(l => l.LbEndpoints));
            Assert.Equal(demo.Workload($"reviews-{version}").Port, (int)endpoint.Endpoint.Address.SocketAddress.PortValue);
        }
    }

    [Fact]
    public async Task Load_balancing_gRPC_does_not_implement_becomes_round_robin()
    {
        var context = await MeshFixture.LoadAsync("""
            apiVersion: v1
            kind: Service
            metadata: {name: echo, namespace: apps}
            spec:
              clusterIP: 10.96.0.9
              selector: {app: echo}
              ports: [{name: grpc, port: 7070}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: echo-1, namespace: apps, labels: {app: echo}}
            status: {podIP: 10.1.0.9, phase: Running, conditions: [{type: Ready, status: "True"}]}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: echo, namespace: apps}
            spec:
              host: echo
              trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
            """);

        var snapshot = MeshGenerator.Generate(context, Client("apps"));

        var cluster = Assert.Single(All<ClusterProto>(snapshot, TypeUrls.Cluster), c => c.Name == "outbound|7070||echo.apps.svc.cluster.local");
        Assert.Equal(ClusterProto.Types.LbPolicy.RoundRobin, cluster.LbPolicy);
        var endpoint = Assert.Single(All<ClusterLoadAssignment>(snapshot, TypeUrls.ClusterLoadAssignment)
            .Single(e => e.ClusterName == cluster.Name).Endpoints.SelectMany(l => l.LbEndpoints));
        Assert.Equal(("10.1.0.9", 7070u), (endpoint.Endpoint.Address.SocketAddress.Address, endpoint.Endpoint.Address.SocketAddress.PortValue));
        Assert.Contains("echo:7070", All<ListenerProto>(snapshot, TypeUrls.Listener).Select(l => l.Name));
    }

    [Fact]
    public async Task A_client_in_another_namespace_gets_no_short_names_for_bookinfo()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);

        var names = All<ListenerProto>(MeshGenerator.Generate(context, Client("default")), TypeUrls.Listener).Select(l => l.Name).ToList();

        Assert.Contains(Reviews + ":9080", names);
        Assert.DoesNotContain("reviews:9080", names);
        Assert.DoesNotContain("reviews.bookinfo:9080", names);
    }
}
