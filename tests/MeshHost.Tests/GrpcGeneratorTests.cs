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

    /// <summary>The user agents the real clients of tests/clients send (logged by
    /// Proxyless/ProxylessClientTests.Each_client_is_told_apart_by_its_user_agent), and others.</summary>
    [Theory]
    [InlineData("gRPC Node Pure JS", "1.14.1", GrpcLibrary.GrpcJs, "1.14", false)]
    [InlineData("gRPC Node Pure JS", "1.8.2", GrpcLibrary.GrpcJs, "1.8", true)]
    [InlineData("gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1", GrpcLibrary.CCore, "1.51", true)]
    [InlineData("gRPC C-core linux csharp", "C-core 24.0.0 csharp 2.46.5", GrpcLibrary.CCore, "1.46", true)]
    [InlineData("gRPC C-core linux Python", "C-core 36.0.0 Python 1.58.0", GrpcLibrary.CCore, "1.58", false)]
    [InlineData("gRPC C-core linux", "C-core 29.0.0", GrpcLibrary.CCore, "1.51", true)]
    [InlineData("gRPC C-core linux", "C-core 40.0.0", GrpcLibrary.CCore, "1.62", false)]
    [InlineData("gRPC C-core linux", "", GrpcLibrary.CCore, null, true)]
    [InlineData("gRPC Go", "1.60.1", GrpcLibrary.GrpcGo, "1.60", false)]
    [InlineData("gRPC Java", "1.59.0", GrpcLibrary.GrpcJava, "1.59", false)]
    [InlineData("envoy", "1.30.0", GrpcLibrary.Unknown, null, false)]
    [InlineData("", "", GrpcLibrary.Unknown, null, false)]
    public void A_client_is_read_from_its_user_agent(string name, string version, GrpcLibrary library, string? release, bool legacy)
    {
        var client = GrpcClient.Parse(name, version);

        Assert.Equal(library, client.Library);
        Assert.Equal(release is null ? null : Version.Parse(release), client.Version);
        Assert.Equal(legacy, client.NeedsLegacyHeaderMatchers);
    }

#pragma warning disable CS0612 // the deprecated header matcher fields are what is checked
    [Fact]
    public void Legacy_header_matchers_say_what_string_match_said()
    {
        static Envoy.Config.Route.V3.HeaderMatcher Matcher(Envoy.Type.Matcher.V3.StringMatcher match, bool invert = false) =>
            new() { Name = "h", StringMatch = match, InvertMatch = invert };
        var cases = new[]
        {
            Matcher(new() { Exact = "a.b" }, invert: true),
            Matcher(new() { Prefix = "p" }),
            Matcher(new() { Suffix = "s" }),
            Matcher(new() { Contains = "c" }),
            Matcher(new() { SafeRegex = new Envoy.Type.Matcher.V3.RegexMatcher { Regex = "v[0-9]+" } }),
            Matcher(new() { Exact = "A.b", IgnoreCase = true }),
            Matcher(new() { Prefix = "Gold(", IgnoreCase = true }),
        };
        foreach (var matcher in cases)
        {
            GrpcClient.ToLegacy(matcher);
        }

        Assert.All(cases, m => Assert.Null(m.StringMatch));
        Assert.Equal("a.b", cases[0].ExactMatch);
        Assert.True(cases[0].InvertMatch);
        Assert.Equal("p", cases[1].PrefixMatch);
        Assert.Equal("s", cases[2].SuffixMatch);
        Assert.Equal("c", cases[3].ContainsMatch);
        Assert.Equal("v[0-9]+", cases[4].SafeRegexMatch.Regex);
        Assert.Equal(@"(?i)A\.b", cases[5].SafeRegexMatch.Regex);
        Assert.Equal(@"(?i)Gold\(.*", cases[6].SafeRegexMatch.Regex);
    }

    [Theory]
    [InlineData("gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1", true)]
    [InlineData("gRPC C-core linux csharp", "C-core 24.0.0 csharp 2.46.5", true)]
    [InlineData("gRPC Node Pure JS", "1.14.1", false)]
    [InlineData("gRPC C-core linux Python", "C-core 36.0.0 Python 1.58.0", false)]
    public async Task Header_routes_reach_each_client_in_the_form_it_reads(string name, string version, bool legacy)
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);
        var client = Client() with { UserAgentName = name, UserAgentVersion = version };

        var snapshot = MeshGenerator.Generate(context, client);

        var route = Assert.Single(All<RouteConfiguration>(snapshot, TypeUrls.RouteConfiguration), r => r.Name == ReviewsRoute);
        var jason = Assert.Single(route.VirtualHosts.SelectMany(h => h.Routes), r => r.Match.Headers.Count > 0);
        var header = Assert.Single(jason.Match.Headers);
        Assert.Equal("end-user", header.Name);
        if (legacy)
        {
            Assert.Null(header.StringMatch);
            Assert.Equal("jason", header.ExactMatch);
        }
        else
        {
            Assert.Equal("jason", header.StringMatch.Exact);
        }
        // The pass copies: the sidecar builders' shared routes keep istiod's form.
        var plain = MeshGenerator.Generate(context, Client());
        Assert.Contains(All<RouteConfiguration>(plain, TypeUrls.RouteConfiguration).Single(r => r.Name == ReviewsRoute).VirtualHosts
            .SelectMany(h => h.Routes).SelectMany(r => r.Match.Headers), h => h.StringMatch?.Exact == "jason");
    }
#pragma warning restore CS0612

    /// <summary>istiod's grpcgen server listeners: one per (address, target port), plaintext without PeerAuthentication
    /// (PERMISSIVE has no gRPC form), the inline non-forwarding route, and the router last.</summary>
    [Fact]
    public async Task A_proxyless_server_gets_inbound_listeners_for_its_target_ports()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var server = ListenerMesh.Reviews with { Generator = "grpc" };

        var listeners = All<ListenerProto>(MeshGenerator.Generate(context, server), TypeUrls.Listener)
            .Where(l => l.Name.StartsWith(GrpcInbound.ListenerPrefix, StringComparison.Ordinal)).ToDictionary(l => l.Name);

        Assert.Equal(["xds.istio.io/grpc/lds/inbound/0.0.0.0:8080", "xds.istio.io/grpc/lds/inbound/10.1.0.7:8080", "xds.istio.io/grpc/lds/inbound/[::]:8080"],
            listeners.Keys.Order(StringComparer.Ordinal));
        var listener = listeners["xds.istio.io/grpc/lds/inbound/10.1.0.7:8080"];
        Assert.Equal("10.1.0.7", listener.Address.SocketAddress.Address);
        Assert.Equal(8080u, listener.Address.SocketAddress.PortValue);
        Assert.Empty(listener.ListenerFilters); // gRPC NACKs listener filters
        Assert.Null(listener.ApiListener);
        var chain = Assert.Single(listener.FilterChains);
        Assert.Equal("inbound-plaintext", chain.Name);
        Assert.Null(chain.TransportSocket);
        var filter = Assert.Single(chain.Filters);
        Assert.Equal("inbound-hcmplaintext", filter.Name);
        var hcm = filter.TypedConfig.Unpack<HttpConnectionManager>();
        Assert.Equal(["envoy.filters.http.router"], hcm.HttpFilters.Select(f => f.Name));
        var route = Assert.Single(Assert.Single(hcm.RouteConfig.VirtualHosts).Routes);
        Assert.Equal("/", route.Match.Prefix);
        Assert.NotNull(route.NonForwardingAction);
    }

    [Fact]
    public async Task A_strict_proxyless_server_requires_client_certificates_and_runs_deny_then_allow_rbac()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: bookinfo}
            spec: {mtls: {mode: STRICT}}
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: viewers, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: reviews}}
              rules: [{from: [{source: {principals: ["cluster.local/ns/bookinfo/sa/productpage"]}}]}]
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-admin, namespace: bookinfo}
            spec:
              action: DENY
              rules: [{to: [{operation: {paths: ["/admin"]}}]}]
            """);
        var server = ListenerMesh.Reviews with { Generator = "grpc" };

        var listener = All<ListenerProto>(MeshGenerator.Generate(context, server), TypeUrls.Listener)
            .Single(l => l.Name == "xds.istio.io/grpc/lds/inbound/0.0.0.0:8080");

        var chain = Assert.Single(listener.FilterChains);
        Assert.Equal("inbound-mtls", chain.Name);
        Assert.Equal("envoy.transport_sockets.tls", chain.TransportSocket.Name);
        var tls = chain.TransportSocket.TypedConfig.Unpack<Envoy.Extensions.TransportSockets.Tls.V3.DownstreamTlsContext>();
        Assert.True(tls.RequireClientCertificate);
#pragma warning disable CS0612 // the certificate provider fields gRPC reads
        Assert.Equal("default", tls.CommonTlsContext.TlsCertificateCertificateProviderInstance.InstanceName);
        Assert.Equal("ROOTCA", tls.CommonTlsContext.CombinedValidationContext.ValidationContextCertificateProviderInstance.CertificateName);
#pragma warning restore CS0612
        var hcm = Assert.Single(chain.Filters).TypedConfig.Unpack<HttpConnectionManager>();
        Assert.Equal(["envoy.filters.http.rbac.DENY", "envoy.filters.http.rbac", "envoy.filters.http.router"], hcm.HttpFilters.Select(f => f.Name));
        var deny = hcm.HttpFilters[0].TypedConfig.Unpack<Envoy.Extensions.Filters.Http.Rbac.V3.RBAC>().Rules;
        Assert.Equal(Envoy.Config.Rbac.V3.RBAC.Types.Action.Deny, deny.Action);
        Assert.Equal(["bookinfo-no-admin-0"], deny.Policies.Keys);
        var allow = hcm.HttpFilters[1].TypedConfig.Unpack<Envoy.Extensions.Filters.Http.Rbac.V3.RBAC>().Rules;
        Assert.Equal(Envoy.Config.Rbac.V3.RBAC.Types.Action.Allow, allow.Action);
        Assert.Equal(["bookinfo-viewers-0"], allow.Policies.Keys);
    }

    [Theory]
    [InlineData(MtlsMode.Disable, null, false)]
    [InlineData(MtlsMode.Permissive, null, false)]
    [InlineData(MtlsMode.Permissive, "istio", true)]
    [InlineData(MtlsMode.Strict, null, true)]
    public void Permissive_means_plaintext_unless_the_workload_uses_auto_mtls(MtlsMode mode, string? tlsModeLabel, bool mtls)
    {
        var labels = tlsModeLabel is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["security.istio.io/tlsMode"] = tlsModeLabel };
        var proxy = MeshFixture.Proxy("10.1.0.7", "reviews-v1", "bookinfo", labels, generator: "grpc");

        Assert.Equal(mtls, GrpcInbound.UsesMtls(mode, proxy));
    }
}
