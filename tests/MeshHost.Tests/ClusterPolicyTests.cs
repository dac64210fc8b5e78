using MeshHost.Generation;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using DiscoveryType = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType;
using LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy;

namespace MeshHost.Tests;

public class ClusterPolicyTests
{
    private const string Host = ClusterManifests.ReviewsHost;

    private static async Task<IReadOnlyList<ClusterProto>> ClustersAsync(string trafficPolicy, Action<PushContext>? check = null)
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule(trafficPolicy));
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        if (check is null)
        {
            Assert.Empty(context.Problems);
        }
        else
        {
            check(context);
        }
        return clusters;
    }

    [Theory]
    [InlineData("", LbPolicy.LeastRequest)]
    [InlineData("simple: LEAST_REQUEST", LbPolicy.LeastRequest)]
    [InlineData("simple: LEAST_CONN", LbPolicy.LeastRequest)]
    [InlineData("simple: ROUND_ROBIN", LbPolicy.RoundRobin)]
    [InlineData("simple: RANDOM", LbPolicy.Random)]
    [InlineData("simple: PASSTHROUGH", LbPolicy.ClusterProvided)]
    [InlineData("consistentHash: {httpHeaderName: x-user}", LbPolicy.RingHash)]
    [InlineData("consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}", LbPolicy.Maglev)]
    public async Task The_load_balancer_follows_the_rule(string lb, LbPolicy expected)
    {
        var policy = lb.Length == 0 ? string.Empty : $"  trafficPolicy: {{loadBalancer: {{{lb}}}}}";
        var clusters = await ClustersAsync(policy);
        foreach (var name in new[] { $"outbound|9080||{Host}", $"outbound|9080|v1|{Host}" })
        {
            var cluster = ClusterManifests.Named(clusters, name);
            Assert.Equal(expected, cluster.LbPolicy);
            if (expected == LbPolicy.ClusterProvided)
            {
                Assert.Equal(DiscoveryType.OriginalDst, cluster.Type);
                Assert.Null(cluster.EdsClusterConfig);
            }
            else
            {
                Assert.Equal(DiscoveryType.Eds, cluster.Type);
            }
            if (expected == LbPolicy.RingHash)
            {
                Assert.Equal(1024UL, cluster.RingHashLbConfig.MinimumRingSize);
            }
            if (expected == LbPolicy.Maglev)
            {
                Assert.Equal(65537UL, cluster.MaglevLbConfig.TableSize);
            }
        }
    }

    [Fact]
    public async Task A_ring_hash_keeps_the_given_minimum_ring_size_and_warmup_gives_slow_start()
    {
        var clusters = await ClustersAsync("""
              trafficPolicy:
                loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 30s}
                portLevelSettings:
                - port: {number: 9090}
                  loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 0s}, ringHash: {minimumRingSize: 2048}}}
            """);
        var http = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        Assert.Equal(LbPolicy.RoundRobin, http.LbPolicy);
        Assert.Equal(30, http.RoundRobinLbConfig.SlowStartConfig.SlowStartWindow.Seconds);
        var grpc = ClusterManifests.Named(clusters, $"outbound|9090||{Host}");
        Assert.Equal(LbPolicy.RingHash, grpc.LbPolicy);
        Assert.Equal(2048UL, grpc.RingHashLbConfig.MinimumRingSize);
    }

    public static TheoryData<string, string> HashKeys => new()
    {
        { "httpHeaderName: x-user", "header:x-user" },
        { "httpCookie: {name: session, path: /, ttl: 10s}", "cookie:session:/:10" },
        { "useSourceIp: true", "source-ip:True" },
        { "httpQueryParameterName: user", "query:user" },
    };

    [Theory]
    [MemberData(nameof(HashKeys))]
    public async Task A_consistent_hash_gives_the_route_hash_policy(string key, string expected)
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule(
            $"  trafficPolicy: {{loadBalancer: {{consistentHash: {{{key}}}}}}}"));
        var policy = Assert.Single(ClusterBuilder.HashPolicyFor(context, ClusterManifests.Client(), Host, 9080, null));
        var actual = policy switch
        {
            { Header: { } h } => $"header:{h.HeaderName}",
            { Cookie: { } c } => $"cookie:{c.Name}:{c.Path}:{c.Ttl?.Seconds}",
            { ConnectionProperties: { } p } => $"source-ip:{p.SourceIp}",
            { QueryParameter: { } q } => $"query:{q.Name}",
            _ => policy.ToString(),
        };
        Assert.Equal(expected, actual);
        Assert.Empty(context.Problems);
    }

    [Fact]
    public async Task The_hash_policy_follows_subsets_and_is_empty_without_a_consistent_hash()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              host: reviews
              subsets:
              - name: v1
                labels: {version: v1}
                trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-v1}}}
              - name: v2
                labels: {version: v2}
            """);
        var client = ClusterManifests.Client();
        Assert.Empty(ClusterBuilder.HashPolicyFor(context, client, Host, 9080, null));
        Assert.Empty(ClusterBuilder.HashPolicyFor(context, client, Host, 9080, "v2"));
        Assert.Equal("x-v1", Assert.Single(ClusterBuilder.HashPolicyFor(context, client, Host, 9080, "v1")).Header.HeaderName);
        Assert.Empty(ClusterBuilder.HashPolicyFor(context, client, "productpage.bookinfo.svc.cluster.local", 9080, null));
        Assert.Equal(LbPolicy.RingHash, ClusterManifests.Named(ClusterBuilder.Build(context, client), $"outbound|9080|v1|{Host}").LbPolicy);
    }

    [Fact]
    public async Task Without_a_connection_pool_every_circuit_breaker_is_max_uint32()
    {
        foreach (var cluster in (await ClustersAsync(string.Empty)).Where(c => c.Name.StartsWith("outbound|", StringComparison.Ordinal)))
        {
            var threshold = Assert.Single(cluster.CircuitBreakers.Thresholds);
            Assert.Equal(4294967295u, threshold.MaxConnections);
            Assert.Equal(4294967295u, threshold.MaxPendingRequests);
            Assert.Equal(4294967295u, threshold.MaxRequests);
            Assert.Equal(4294967295u, threshold.MaxRetries);
            Assert.True(threshold.TrackRemaining);
            Assert.Null(cluster.OutlierDetection);
        }
    }

    [Fact]
    public async Task A_connection_pool_sets_thresholds_timeouts_and_http_options()
    {
        var clusters = await ClustersAsync("""
              trafficPolicy:
                connectionPool:
                  tcp: {maxConnections: 100, connectTimeout: 250ms, tcpKeepalive: {probes: 3, time: 7200s, interval: 75s}}
                  http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 3, maxRequestsPerConnection: 1, idleTimeout: 30s, h2UpgradePolicy: UPGRADE}
            """);
        var cluster = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        var threshold = Assert.Single(cluster.CircuitBreakers.Thresholds);
        Assert.Equal(100u, threshold.MaxConnections);
        Assert.Equal(10u, threshold.MaxPendingRequests);
        Assert.Equal(1000u, threshold.MaxRequests);
        Assert.Equal(3u, threshold.MaxRetries);
        Assert.Equal(250_000_000, cluster.ConnectTimeout.Nanos);
        Assert.Equal(3u, cluster.UpstreamConnectionOptions.TcpKeepalive.KeepaliveProbes);
        Assert.Equal(7200u, cluster.UpstreamConnectionOptions.TcpKeepalive.KeepaliveTime);
        var options = ClusterManifests.HttpOptions(cluster);
        Assert.NotNull(options);
        Assert.Equal(30, options.CommonHttpProtocolOptions.IdleTimeout.Seconds);
        Assert.Equal(1u, options.CommonHttpProtocolOptions.MaxRequestsPerConnection);
        Assert.NotNull(options.ExplicitHttpConfig.Http2ProtocolOptions); // h2UpgradePolicy: UPGRADE
    }

    [Fact]
    public async Task Outlier_detection_is_mapped_as_istiod_maps_it()
    {
        var clusters = await ClustersAsync("""
              trafficPolicy:
                outlierDetection: {consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, interval: 10s, baseEjectionTime: 1m, maxEjectionPercent: 50}
            """);
        var cluster = ClusterManifests.Named(clusters, $"outbound|9080|v2|{Host}");
        var outlier = cluster.OutlierDetection;
        Assert.Equal(5u, outlier.Consecutive5Xx);
        Assert.Equal(100u, outlier.EnforcingConsecutive5Xx);
        Assert.Equal(0u, outlier.ConsecutiveGatewayFailure);
        Assert.Equal(0u, outlier.EnforcingConsecutiveGatewayFailure);
        Assert.Equal(0u, outlier.EnforcingSuccessRate);
        Assert.Equal(10, outlier.Interval.Seconds);
        Assert.Equal(60, outlier.BaseEjectionTime.Seconds);
        Assert.Equal(50u, outlier.MaxEjectionPercent);
        Assert.Equal(0, cluster.CommonLbConfig.HealthyPanicThreshold.Value); // minHealthPercent unset: panic mode off

        var withMinimum = await ClustersAsync("  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 2, minHealthPercent: 30}}");
        Assert.Equal(30, ClusterManifests.Named(withMinimum, $"outbound|9080||{Host}").CommonLbConfig.HealthyPanicThreshold.Value);
    }

    [Fact]
    public async Task Port_level_settings_and_subset_policies_override_component_by_component()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              host: reviews.bookinfo.svc.cluster.local
              trafficPolicy:
                loadBalancer: {simple: RANDOM}
                connectionPool: {tcp: {maxConnections: 10}}
                portLevelSettings:
                - port: {number: 9090}
                  loadBalancer: {simple: ROUND_ROBIN}
              subsets:
              - name: v1
                labels: {version: v1}
                trafficPolicy:
                  connectionPool: {tcp: {maxConnections: 20}}
            """);
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        (string Name, LbPolicy Lb, uint MaxConnections)[] expected =
        [
            ($"outbound|9080||{Host}", LbPolicy.Random, 10),
            ($"outbound|9090||{Host}", LbPolicy.RoundRobin, 10),
            ($"outbound|9080|v1|{Host}", LbPolicy.Random, 20),
            ($"outbound|9090|v1|{Host}", LbPolicy.RoundRobin, 20),
        ];
        foreach (var (name, lb, max) in expected)
        {
            var cluster = ClusterManifests.Named(clusters, name);
            Assert.Equal(lb, cluster.LbPolicy);
            Assert.Equal(max, cluster.CircuitBreakers.Thresholds[0].MaxConnections);
        }
    }

    [Fact]
    public async Task The_most_specific_rule_in_the_nearest_namespace_wins()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews
            + ClusterManifests.ReviewsRule("  trafficPolicy: {loadBalancer: {simple: RANDOM}}", name: "wildcard", host: "*.bookinfo.svc.cluster.local")
            + ClusterManifests.ReviewsRule("  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}", name: "exact")
            + ClusterManifests.ReviewsRule("  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}", name: "root", @namespace: "istio-system", host: "*"));
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        Assert.Equal(LbPolicy.RoundRobin, ClusterManifests.Named(clusters, $"outbound|9080||{Host}").LbPolicy);
        Assert.Equal(LbPolicy.Random, ClusterManifests.Named(clusters, "outbound|9080||productpage.bookinfo.svc.cluster.local").LbPolicy);

        // From another namespace: bookinfo's rules (exported everywhere) still beat the root namespace's.
        var other = ClusterBuilder.Build(context, MeshFixture.Proxy("10.2.0.5", "client", "other"));
        Assert.Equal(LbPolicy.RoundRobin, ClusterManifests.Named(other, $"outbound|9080||{Host}").LbPolicy);
    }

    [Fact]
    public async Task A_rule_with_a_workload_selector_applies_only_to_the_workloads_it_selects()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: for-productpage, namespace: bookinfo}
            spec:
              host: reviews
              workloadSelector: {matchLabels: {app: productpage}}
              trafficPolicy: {loadBalancer: {simple: RANDOM}}
            """);
        Assert.Equal(LbPolicy.Random, ClusterManifests.Named(ClusterBuilder.Build(context, ClusterManifests.Client()), $"outbound|9080||{Host}").LbPolicy);
        var other = MeshFixture.Proxy("10.1.0.60", "ratings-v1", "bookinfo", new Dictionary<string, string> { ["app"] = "ratings" });
        Assert.Equal(LbPolicy.LeastRequest, ClusterManifests.Named(ClusterBuilder.Build(context, other), $"outbound|9080||{Host}").LbPolicy);
    }

    [Fact]
    public async Task Bad_parts_of_a_rule_are_reported_and_skipped_while_the_rest_applies()
    {
        var clusters = await ClustersAsync("""
              trafficPolicy:
                loadBalancer: {simple: FASTEST}
                connectionPool: {tcp: {maxConnections: 5, connectTimeout: soon}}
                outlierDetection: {consecutive5xxErrors: 3, interval: often}
            """, context =>
            {
                var reasons = context.Problems.Select(p => p.Reason).ToList();
                Assert.Contains(reasons, r => r.Contains("loadBalancer.simple", StringComparison.Ordinal) && r.Contains("FASTEST", StringComparison.Ordinal));
                Assert.Contains(reasons, r => r.Contains("connectionPool.tcp.connectTimeout", StringComparison.Ordinal));
                Assert.Contains(reasons, r => r.Contains("outlierDetection.interval", StringComparison.Ordinal));
                Assert.All(context.Problems, p => Assert.Equal("reviews", p.Key.Name));
            });
        var cluster = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        Assert.Equal(LbPolicy.LeastRequest, cluster.LbPolicy);
        Assert.Equal(5u, cluster.CircuitBreakers.Thresholds[0].MaxConnections);
        Assert.Equal(10, cluster.ConnectTimeout.Seconds); // the mesh default
        Assert.Equal(3u, cluster.OutlierDetection.Consecutive5Xx);
        Assert.Null(cluster.OutlierDetection.Interval);
    }

    [Fact]
    public async Task A_rule_without_a_host_is_reported_and_ignored()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: hostless, namespace: bookinfo}
            spec:
              trafficPolicy: {loadBalancer: {simple: RANDOM}}
            """);
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        Assert.Equal(LbPolicy.LeastRequest, ClusterManifests.Named(clusters, $"outbound|9080||{Host}").LbPolicy);
        var problem = Assert.Single(context.Problems);
        Assert.Equal("hostless", problem.Key.Name);
        Assert.Contains("spec.host", problem.Reason, StringComparison.Ordinal);
    }
}
