using Envoy.Config.Route.V3;
using MeshHost.Generation;
using MeshHost.Model;
using Xunit.Abstractions;
using EnvoyRoute = Envoy.Config.Route.V3.Route;

namespace MeshHost.Tests;

/// <summary>Sidecar outbound route configurations: virtual hosts, istiod's domain set, the default route and the
/// catch-all.</summary>
public class RouteBuilderTests
{
    /// <summary>bookinfo: reviews and ratings (HTTP 9080), a TCP database on 9080's neighbour, productpage in another
    /// namespace on 9080, a headless service, and an external ServiceEntry on 80.</summary>
    internal const string Mesh = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ratings, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.21
          selector: {app: ratings}
          ports: [{name: http, port: 9080, targetPort: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.22
          selector: {app: db}
          ports: [{name: tcp, port: 9080, targetPort: 5432}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: productpage, namespace: frontend}
        spec:
          clusterIP: 10.96.0.30
          selector: {app: productpage}
          ports: [{name: http-web, port: 9080, targetPort: 9080}, {name: grpc, port: 7070, targetPort: 7070}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cache, namespace: bookinfo}
        spec:
          clusterIP: None
          selector: {app: cache}
          ports: [{name: http, port: 9080, targetPort: 9080}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: httpbin, namespace: bookinfo}
        spec:
          hosts: [httpbin.org]
          addresses: [240.0.0.1]
          ports: [{number: 80, name: http, protocol: HTTP}]
          resolution: DNS
        """;

    internal const string ReviewsFqdn = "reviews.bookinfo.svc.cluster.local";

    private readonly ITestOutputHelper _output;

    public RouteBuilderTests(ITestOutputHelper output) => _output = output;

    internal static Proxy Sidecar(string @namespace = "bookinfo", IReadOnlyDictionary<string, string>? labels = null) =>
        MeshFixture.Proxy("10.1.0.99", "sleep-1", @namespace, labels ?? new Dictionary<string, string> { ["app"] = "sleep" });

    internal static VirtualHost Host(RouteConfiguration config, string name) =>
        config.VirtualHosts.SingleOrDefault(v => v.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"no virtual host {name}; have {string.Join(", ", config.VirtualHosts.Select(v => v.Name))}");

    [Fact]
    public async Task Each_visible_http_service_on_the_port_gets_a_virtual_host_then_the_catch_all()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var config = RouteBuilder.Build(context, Sidecar(), "9080");
        Assert.NotNull(config);
        Assert.Equal("9080", config.Name);
        Assert.False(config.ValidateClusters);
        Assert.True(config.IgnorePortInHostMatching);
        // Sorted by name; the TCP service "db" shares the port but gets none; allow_any comes last.
        Assert.Equal(
            ["cache.bookinfo.svc.cluster.local:9080", "productpage.frontend.svc.cluster.local:9080", "ratings.bookinfo.svc.cluster.local:9080",
                "reviews.bookinfo.svc.cluster.local:9080", "allow_any"],
            config.VirtualHosts.Select(v => v.Name));
        var allowAny = config.VirtualHosts[^1];
        Assert.Equal(["*"], allowAny.Domains);
        Assert.Equal(MeshNames.PassthroughCluster, Assert.Single(allowAny.Routes).Route_.Cluster);
        Assert.All(config.VirtualHosts, v => Assert.True(v.IncludeRequestAttemptCount));
    }

    [Fact]
    public async Task The_domains_are_istiods_short_names_relative_to_the_proxy_namespace_and_the_vips()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var inBookinfo = RouteBuilder.Build(context, Sidecar("bookinfo"), "9080")!;
        Assert.Equal([ReviewsFqdn, "reviews", "reviews.bookinfo.svc", "reviews.bookinfo", "10.96.0.20"],
            Host(inBookinfo, $"{ReviewsFqdn}:9080").Domains);
        Assert.Equal(["productpage.frontend.svc.cluster.local", "productpage.frontend", "productpage.frontend.svc", "10.96.0.30"],
            Host(inBookinfo, "productpage.frontend.svc.cluster.local:9080").Domains);

        // The same service seen from another namespace: no bare name.
        var inFrontend = RouteBuilder.Build(context, Sidecar("frontend"), "9080")!;
        Assert.Equal([ReviewsFqdn, "reviews.bookinfo", "reviews.bookinfo.svc", "10.96.0.20"], Host(inFrontend, $"{ReviewsFqdn}:9080").Domains);
        Assert.Equal(["productpage.frontend.svc.cluster.local", "productpage", "productpage.frontend.svc", "productpage.frontend", "10.96.0.30"],
            Host(inFrontend, "productpage.frontend.svc.cluster.local:9080").Domains);

        // A headless service answers for its pods' names too (istiod's Passthrough services).
        Assert.Equal(
            ["cache.bookinfo.svc.cluster.local", "cache", "cache.bookinfo.svc", "cache.bookinfo",
                "*.cache.bookinfo.svc.cluster.local", "*.cache", "*.cache.bookinfo.svc", "*.cache.bookinfo"],
            Host(inBookinfo, "cache.bookinfo.svc.cluster.local:9080").Domains);

        // No domain appears twice in one route configuration.
        var all = inBookinfo.VirtualHosts.SelectMany(v => v.Domains).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public async Task A_service_entry_host_gets_its_name_and_address_on_its_port()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var config = RouteBuilder.Build(context, Sidecar(), "80")!;
        Assert.Equal(["httpbin.org", "240.0.0.1"], Host(config, "httpbin.org:80").Domains);
    }

    [Fact]
    public async Task Without_a_virtual_service_the_default_route_goes_to_the_service_cluster_with_the_default_retry_policy()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var config = RouteBuilder.Build(context, Sidecar(), "9080")!;
        var route = Assert.Single(Host(config, $"{ReviewsFqdn}:9080").Routes);
        Assert.Equal("default", route.Name);
        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal($"outbound|9080||{ReviewsFqdn}", route.Route_.Cluster);
        Assert.Equal($"{ReviewsFqdn}:9080/*", route.Decorator.Operation);
        Assert.Equal(TimeSpan.Zero, route.Route_.Timeout.ToTimeSpan());
        var retry = route.Route_.RetryPolicy;
        Assert.Equal(2u, retry.NumRetries);
        Assert.Equal("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", retry.RetryOn);
        Assert.Equal([503u], retry.RetriableStatusCodes);
        Assert.Equal(5, retry.HostSelectionRetryMaxAttempts);
        Assert.Equal("envoy.retry_host_predicates.previous_hosts", Assert.Single(retry.RetryHostPredicate).Name);
    }

    [Fact]
    public async Task Registry_only_outbound_traffic_ends_in_block_all()
    {
        var context = await MeshFixture.LoadAsync(Mesh, new MeshOptions { AllowAnyOutbound = false });
        var config = RouteBuilder.Build(context, Sidecar(), "9080")!;
        var blockAll = config.VirtualHosts[^1];
        Assert.Equal("block_all", blockAll.Name);
        Assert.Equal(["*"], blockAll.Domains);
        var route = Assert.Single(blockAll.Routes);
        Assert.Equal("block_all", route.Name);
        Assert.Equal(502u, route.DirectResponse.Status);
    }

    [Fact]
    public async Task A_proxyless_grpc_client_gets_port_forms_of_the_domains()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var proxy = MeshFixture.Proxy("10.1.0.99", "client", "frontend", generator: "grpc");
        var service = Assert.Single(context.ServicesByHost("productpage.frontend.svc.cluster.local"));
        var vhost = RouteBuilder.BuildVirtualHost(context, proxy, service, service.Ports.Single(p => p.Port == 7070));
        Assert.Equal("productpage.frontend.svc.cluster.local:7070", vhost.Name);
        Assert.Equal(
            ["productpage.frontend.svc.cluster.local", "productpage.frontend.svc.cluster.local:7070", "productpage", "productpage:7070",
                "productpage.frontend.svc", "productpage.frontend.svc:7070", "productpage.frontend", "productpage.frontend:7070",
                "10.96.0.30", "10.96.0.30:7070"],
            vhost.Domains);
        var route = Assert.Single(vhost.Routes);
        Assert.Equal("outbound|7070||productpage.frontend.svc.cluster.local", route.Route_.Cluster);
        Assert.Equal(TimeSpan.Zero, route.Route_.MaxStreamDuration.MaxStreamDuration_.ToTimeSpan());
    }

    [Fact]
    public async Task Route_names_that_mean_nothing_give_null_and_a_sniffed_service_port_gets_only_its_host()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        Assert.Null(RouteBuilder.Build(context, Sidecar(), "not-a-port"));
        var sniffed = RouteBuilder.Build(context, Sidecar(), $"{ReviewsFqdn}:9080")!;
        var vhost = Assert.Single(sniffed.VirtualHosts);
        Assert.Equal($"{ReviewsFqdn}:9080", vhost.Name);
        Assert.Equal(["*"], vhost.Domains);
        _output.WriteLine(sniffed.ToString());
    }

    [Fact]
    public async Task A_service_not_exported_to_the_proxy_namespace_gets_no_virtual_host()
    {
        var context = await MeshFixture.LoadAsync(Mesh.Replace(
            "metadata: {name: ratings, namespace: bookinfo}",
            "metadata: {name: ratings, namespace: bookinfo, annotations: {networking.istio.io/exportTo: \".\"}}", StringComparison.Ordinal));
        Assert.Contains(RouteBuilder.Build(context, Sidecar("bookinfo"), "9080")!.VirtualHosts, v => v.Name.StartsWith("ratings.", StringComparison.Ordinal));
        Assert.DoesNotContain(RouteBuilder.Build(context, Sidecar("frontend"), "9080")!.VirtualHosts, v => v.Name.StartsWith("ratings.", StringComparison.Ordinal));
    }

    internal static IReadOnlyList<EnvoyRoute> RoutesOf(RouteConfiguration config, string vhost) => [.. Host(config, vhost).Routes];
}
