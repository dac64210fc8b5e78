using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Generation;
using MeshHost.Model;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using DiscoveryType = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType;
using LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace MeshHost.Tests;

/// <summary>The manifests and helpers the cluster and endpoint tests share.</summary>
public static class ClusterManifests
{
    /// <summary>reviews (HTTP 9080 → 8080, gRPC 9090) with v1 and v2 ready on two nodes of two zones, v3 not ready
    /// and without a sidecar, and a productpage client.</summary>
    public const string Reviews = """
        apiVersion: v1
        kind: Node
        metadata: {name: node-a, labels: {topology.kubernetes.io/region: us-east, topology.kubernetes.io/zone: us-east-1a}}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-b, labels: {topology.kubernetes.io/region: us-east, topology.kubernetes.io/zone: us-east-1b}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 8080}, {name: grpc-api, port: 9090, targetPort: 9090}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v1, namespace: bookinfo, labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-reviews, nodeName: node-a}
        status: {podIP: 10.1.0.7, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v2, namespace: bookinfo, labels: {app: reviews, version: v2, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-reviews, nodeName: node-b}
        status: {podIP: 10.1.0.8, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v3, namespace: bookinfo, labels: {app: reviews, version: v3}}
        spec: {serviceAccountName: reviews-legacy, nodeName: node-a}
        status: {podIP: 10.1.0.9, phase: Running, conditions: [{type: Ready, status: "False"}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: productpage, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.30
          selector: {app: productpage}
          ports: [{name: http, port: 9080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: productpage-v1, namespace: bookinfo, labels: {app: productpage, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-productpage, nodeName: node-a}
        status: {podIP: 10.1.0.50, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    /// <summary>The reviews DestinationRule with subsets v1, v2 and v9 (no endpoints) and the given traffic policy
    /// YAML (indented under <c>spec</c>), if any.</summary>
    public static string ReviewsRule(string trafficPolicy = "", string name = "reviews", string @namespace = "bookinfo", string host = "reviews") => $"""

        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {"{"}name: {name}, namespace: {@namespace}{"}"}
        spec:
          host: "{host}"
        {trafficPolicy}
          subsets:
          - {"{"}name: v1, labels: {"{"}version: v1{"}"}{"}"}
          - {"{"}name: v2, labels: {"{"}version: v2{"}"}{"}"}
          - {"{"}name: v9, labels: {"{"}version: v9{"}"}{"}"}
        """;

    /// <summary>The productpage sidecar (the client).</summary>
    public static Proxy Client() => MeshFixture.Proxy("10.1.0.50", "productpage-v1", "bookinfo", new Dictionary<string, string> { ["app"] = "productpage" });

    /// <summary>The cluster named <paramref name="name"/>, failing with the names there are.</summary>
    public static ClusterProto Named(IReadOnlyList<ClusterProto> clusters, string name) =>
        clusters.FirstOrDefault(c => c.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"no cluster {name}; there are: {string.Join(", ", clusters.Select(c => c.Name))}");

    /// <summary>The upstream HTTP protocol options of a cluster, or null.</summary>
    public static UpstreamHttpOptions? HttpOptions(ClusterProto cluster) =>
        cluster.TypedExtensionProtocolOptions.TryGetValue(ClusterDraft.HttpProtocolOptionsKey, out var any) ? any.Unpack<UpstreamHttpOptions>() : null;

    /// <summary>The TLS context of a cluster's transport socket.</summary>
    public static UpstreamTlsContext Tls(ClusterProto cluster)
    {
        Xunit.Assert.NotNull(cluster.TransportSocket);
        Xunit.Assert.Equal("envoy.transport_sockets.tls", cluster.TransportSocket.Name);
        return cluster.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
    }

    /// <summary>The reviews FQDN.</summary>
    public const string ReviewsHost = "reviews.bookinfo.svc.cluster.local";
}

public class ClusterBuilderTests
{
    private const string Host = ClusterManifests.ReviewsHost;

    [Fact]
    public async Task A_sidecar_gets_outbound_subset_inbound_and_fixed_clusters_with_istiods_names()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule());
        var reviewsProxy = MeshFixture.Proxy("10.1.0.7", "reviews-v1", "bookinfo", new Dictionary<string, string> { ["app"] = "reviews", ["version"] = "v1" });
        var names = ClusterBuilder.Build(context, reviewsProxy).Select(c => c.Name).ToList();
        Assert.Equal(
            [
                "outbound|9080||productpage.bookinfo.svc.cluster.local",
                $"outbound|9080||{Host}", $"outbound|9080|v1|{Host}", $"outbound|9080|v2|{Host}", $"outbound|9080|v9|{Host}",
                $"outbound|9090||{Host}", $"outbound|9090|v1|{Host}", $"outbound|9090|v2|{Host}", $"outbound|9090|v9|{Host}",
                "BlackHoleCluster", "PassthroughCluster", "inbound|8080||", "inbound|9090||", "InboundPassthroughCluster",
            ],
            names);
        Assert.Empty(context.Problems);
    }

    [Fact]
    public async Task A_gateway_gets_outbound_clusters_and_the_blackhole_only()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews);
        var gateway = MeshFixture.Proxy("10.1.0.99", "ingress-7d", "istio-system", new Dictionary<string, string> { ["istio"] = "ingressgateway" }, type: "router");
        var names = ClusterBuilder.Build(context, gateway).Select(c => c.Name).ToList();
        Assert.Contains($"outbound|9080||{Host}", names);
        Assert.Contains("BlackHoleCluster", names);
        Assert.DoesNotContain("PassthroughCluster", names);
        Assert.DoesNotContain("InboundPassthroughCluster", names);
        Assert.DoesNotContain(names, n => n.StartsWith("inbound|", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_outbound_cluster_is_eds_over_ads_with_the_mesh_connect_timeout_and_least_request()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews, new MeshOptions { ConnectTimeout = TimeSpan.FromSeconds(3) });
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        var http = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        Assert.Equal(DiscoveryType.Eds, http.Type);
        Assert.Equal(http.Name, http.EdsClusterConfig.ServiceName);
        Assert.NotNull(http.EdsClusterConfig.EdsConfig.Ads);
        Assert.Equal(3, http.ConnectTimeout.Seconds);
        Assert.Equal(LbPolicy.LeastRequest, http.LbPolicy);
        Assert.Null(ClusterManifests.HttpOptions(http)); // HTTP/1.1, nothing to say

        var grpc = ClusterManifests.Named(clusters, $"outbound|9090||{Host}");
        Assert.NotNull(ClusterManifests.HttpOptions(grpc)?.ExplicitHttpConfig?.Http2ProtocolOptions);
    }

    [Fact]
    public async Task Fixed_clusters_are_as_istiod_builds_them()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews);
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());

        var blackhole = ClusterManifests.Named(clusters, "BlackHoleCluster");
        Assert.Equal(DiscoveryType.Static, blackhole.Type);
        Assert.Null(blackhole.LoadAssignment);

        var passthrough = ClusterManifests.Named(clusters, "PassthroughCluster");
        Assert.Equal(DiscoveryType.OriginalDst, passthrough.Type);
        Assert.Equal(LbPolicy.ClusterProvided, passthrough.LbPolicy);
        Assert.NotNull(ClusterManifests.HttpOptions(passthrough)?.UseDownstreamProtocolConfig);
        Assert.Equal(uint.MaxValue, passthrough.CircuitBreakers.Thresholds[0].MaxConnections);
        Assert.Null(passthrough.UpstreamBindConfig);

        var inbound = ClusterManifests.Named(clusters, "InboundPassthroughCluster");
        Assert.Equal(DiscoveryType.OriginalDst, inbound.Type);
        Assert.Equal("127.0.0.6", inbound.UpstreamBindConfig.SourceAddress.Address);
    }

    [Fact]
    public async Task Inbound_clusters_are_original_dst_bound_to_127_0_0_6_per_target_port()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule("""
              trafficPolicy:
                connectionPool: {tcp: {maxConnections: 7}}
            """));
        var proxy = MeshFixture.Proxy("10.1.0.7", "reviews-v1", "bookinfo");
        var inbound = ClusterManifests.Named(ClusterBuilder.Build(context, proxy), "inbound|8080||");
        Assert.Equal(DiscoveryType.OriginalDst, inbound.Type);
        Assert.Equal(LbPolicy.ClusterProvided, inbound.LbPolicy);
        Assert.Equal("127.0.0.6", inbound.UpstreamBindConfig.SourceAddress.Address);
        Assert.Equal(ClusterBuilder.MaxDurationSeconds, inbound.CleanupInterval.Seconds);
        Assert.Null(inbound.TransportSocket);
        Assert.Empty(inbound.TransportSocketMatches);
        Assert.Equal(7u, inbound.CircuitBreakers.Thresholds[0].MaxConnections); // the rule's pool applies inbound too
    }

    public static TheoryData<string, DiscoveryType, string[]> ServiceEntries => new()
    {
        {
            """
            resolution: DNS
            endpoints: [{address: a.db.example.com}, {address: b.db.example.com}]
            """,
            DiscoveryType.StrictDns, ["a.db.example.com:5432", "b.db.example.com:5432"]
        },
        { "resolution: DNS", DiscoveryType.StrictDns, ["db.example.com:5432"] },
        { "resolution: DNS_ROUND_ROBIN", DiscoveryType.LogicalDns, ["db.example.com:5432"] },
        {
            """
            resolution: STATIC
            endpoints: [{address: 192.0.2.10}, {address: 192.0.2.11, ports: {tcp-db: 6432}}]
            """,
            DiscoveryType.Eds, []
        },
        { "resolution: NONE", DiscoveryType.OriginalDst, [] },
    };

    [Theory]
    [MemberData(nameof(ServiceEntries))]
    public async Task A_service_entry_cluster_type_follows_its_resolution(string spec, DiscoveryType type, string[] inlineEndpoints)
    {
        var context = await MeshFixture.LoadAsync($"""
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {"{"}name: db, namespace: bookinfo{"}"}
            spec:
              hosts: [db.example.com]
              ports: [{"{"}number: 5432, name: tcp-db, protocol: TCP{"}"}]
            {string.Join('\n', spec.Split('\n').Select(l => "  " + l))}
            """);
        var cluster = ClusterManifests.Named(ClusterBuilder.Build(context, ClusterManifests.Client()), "outbound|5432||db.example.com");
        Assert.Equal(type, cluster.Type);
        // MESH_EXTERNAL by default: no auto-mTLS.
        Assert.Null(cluster.TransportSocket);
        Assert.Empty(cluster.TransportSocketMatches);
        if (type is DiscoveryType.StrictDns or DiscoveryType.LogicalDns)
        {
            Assert.Equal(Envoy.Config.Cluster.V3.Cluster.Types.DnsLookupFamily.V4Only, cluster.DnsLookupFamily);
            Assert.True(cluster.RespectDnsTtl);
            Assert.Equal(cluster.Name, cluster.LoadAssignment.ClusterName);
            var addresses = cluster.LoadAssignment.Endpoints.SelectMany(l => l.LbEndpoints)
                .Select(e => $"{e.Endpoint.Address.SocketAddress.Address}:{e.Endpoint.Address.SocketAddress.PortValue}");
            Assert.Equal(inlineEndpoints, addresses);
        }
        else
        {
            Assert.Null(cluster.LoadAssignment);
        }
        if (type == DiscoveryType.Eds)
        {
            var assignment = Assert.Single(EndpointBuilder.Build(context, ClusterManifests.Client(), [cluster]));
            Assert.Equal(["192.0.2.10:5432", "192.0.2.11:6432"], assignment.Endpoints.SelectMany(l => l.LbEndpoints)
                .Select(e => $"{e.Endpoint.Address.SocketAddress.Address}:{e.Endpoint.Address.SocketAddress.PortValue}"));
        }
        if (type == DiscoveryType.OriginalDst)
        {
            Assert.Equal(LbPolicy.ClusterProvided, cluster.LbPolicy);
            Assert.Null(cluster.EdsClusterConfig);
            var gateway = MeshFixture.Proxy("10.1.0.99", "gw", "bookinfo", type: "router");
            Assert.Equal(DiscoveryType.Eds, ClusterManifests.Named(ClusterBuilder.Build(context, gateway), cluster.Name).Type);
        }
    }

    [Fact]
    public async Task A_mesh_internal_service_entry_gets_auto_mtls()
    {
        var context = await MeshFixture.LoadAsync("""
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: vm, namespace: bookinfo}
            spec:
              hosts: [vm.bookinfo.internal]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 8080, name: http, protocol: HTTP}]
              endpoints: [{address: 192.0.2.20, serviceAccount: vm-sa, labels: {security.istio.io/tlsMode: istio}}]
            """);
        var cluster = ClusterManifests.Named(ClusterBuilder.Build(context, ClusterManifests.Client()), "outbound|8080||vm.bookinfo.internal");
        var match = Assert.Single(cluster.TransportSocketMatches, m => m.Name == "tlsMode-istio");
        var tls = match.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
#pragma warning disable CS0612
        Assert.Equal(["spiffe://cluster.local/ns/bookinfo/sa/vm-sa"], tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext.MatchSubjectAltNames.Select(m => m.Exact));
#pragma warning restore CS0612
    }

    [Fact]
    public async Task Export_to_hides_a_service_and_a_rule_from_other_namespaces()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: secret, namespace: bookinfo, annotations: {networking.istio.io/exportTo: "."}}
            spec: {clusterIP: 10.96.0.40, ports: [{name: http, port: 80}]}
            """ + ClusterManifests.ReviewsRule("""
              exportTo: ["."]
              trafficPolicy: {loadBalancer: {simple: RANDOM}}
            """));
        var outsider = MeshFixture.Proxy("10.2.0.5", "client", "other");
        var outsiderClusters = ClusterBuilder.Build(context, outsider);
        Assert.DoesNotContain(outsiderClusters, c => c.Name.EndsWith("|secret.bookinfo.svc.cluster.local", StringComparison.Ordinal));
        var reviews = ClusterManifests.Named(outsiderClusters, $"outbound|9080||{Host}");
        Assert.Equal(LbPolicy.LeastRequest, reviews.LbPolicy); // the rule is not exported to "other"
        Assert.DoesNotContain(outsiderClusters, c => c.Name == $"outbound|9080|v1|{Host}");

        var insiderClusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        Assert.Contains(insiderClusters, c => c.Name == "outbound|80||secret.bookinfo.svc.cluster.local");
        Assert.Equal(LbPolicy.Random, ClusterManifests.Named(insiderClusters, $"outbound|9080||{Host}").LbPolicy);
    }
}
