using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;

namespace MeshHost.Tests.Scenarios;

/// <summary>istiod's names, as a call meets them: listeners, filter chains, route configurations, virtual hosts,
/// clusters and the mTLS SNI.</summary>
internal static class NamingScenarios
{
    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("outbound HTTP: 0.0.0.0_<port>, RDS \"<port>\", vhost <fqdn>:<port>, outbound|<port>||<fqdn> over mTLS")
        {
            Yaml = Yaml,
            Calls =
            [
                Http("reviews:9080").Expect(new()
                {
                    Listener = "0.0.0.0_9080",
                    RouteConfig = "9080",
                    VirtualHost = $"{Reviews}:9080",
                    Route = "default",
                    Cluster = Outbound(Reviews),
                    Endpoints = ["10.1.0.21:9080", "10.1.0.22:9080"],
                    UpstreamTransport = "mtls",
                    UpstreamSni = $"outbound_.9080_._.{Reviews}",
                }),
            ],
        },
        new MeshScenario("outbound TCP: <vip>_<port> listener straight to the service cluster")
        {
            Yaml = Yaml,
            Calls =
            [
                new SimulatedCall { Address = MysqlVip, Port = 3306, Protocol = CallProtocol.Tcp }.Expect(new()
                {
                    Listener = $"{MysqlVip}_3306",
                    NetworkFilter = "envoy.filters.network.tcp_proxy",
                    Cluster = Outbound(Mysql, 3306),
                    Endpoints = ["10.1.0.51:3306"],
                    UpstreamTransport = "plaintext",
                }),
            ],
        },
        new MeshScenario("unknown address and port: virtualOutbound to PassthroughCluster (ALLOW_ANY)")
        {
            Yaml = Yaml,
            Calls =
            [
                new SimulatedCall { Address = "203.0.113.9", Port = 5555, Protocol = CallProtocol.Tcp }.Expect(new()
                {
                    Listener = "virtualOutbound",
                    Cluster = "PassthroughCluster",
                    Endpoints = ["203.0.113.9:5555"],
                }),
            ],
        },
        new MeshScenario("unknown host on a mesh HTTP port: the allow_any virtual host to PassthroughCluster")
        {
            Yaml = Yaml,
            Calls =
            [
                Http("unknown.example.com", address: "203.0.113.9").Expect(new()
                {
                    Listener = "0.0.0.0_9080",
                    RouteConfig = "9080",
                    VirtualHost = "allow_any",
                    Cluster = "PassthroughCluster",
                    Endpoints = ["203.0.113.9:9080"],
                }),
            ],
        },
        new MeshScenario("inbound HTTP: virtualInbound, chain 0.0.0.0_<targetPort>, route and cluster inbound|<targetPort>||")
        {
            Yaml = Yaml,
            Proxy = ReviewsV1,
            Calls =
            [
                new SimulatedCall { Mode = CallMode.Inbound, Address = "10.1.0.21", Port = 9080, Host = "reviews:9080", Tls = CallTls.Mutual, Principal = SleepPrincipal }
                    .Expect(new()
                    {
                        Listener = "virtualInbound",
                        FilterChain = "0.0.0.0_9080",
                        NetworkFilter = "envoy.filters.network.http_connection_manager",
                        RouteConfig = "inbound|9080||",
                        Cluster = "inbound|9080||",
                        Endpoints = ["10.1.0.21:9080"],
                    }),
            ],
        },
        new MeshScenario("inbound to a port no service declares: InboundPassthroughCluster")
        {
            Yaml = Yaml,
            Proxy = ReviewsV1,
            Calls =
            [
                new SimulatedCall { Mode = CallMode.Inbound, Address = "10.1.0.21", Port = 7777, Protocol = CallProtocol.Tcp, Tls = CallTls.Mutual, Principal = SleepPrincipal }
                    .Expect(new() { Listener = "virtualInbound", Cluster = "InboundPassthroughCluster", Endpoints = ["10.1.0.21:7777"] }),
                new SimulatedCall { Mode = CallMode.Inbound, Address = "10.1.0.21", Port = 7777, Host = "x", Tls = CallTls.Mutual, Principal = SleepPrincipal }
                    .Expect(new() { Listener = "virtualInbound", Cluster = "InboundPassthroughCluster" }),
            ],
        },
        new MeshScenario("subset cluster outbound|<port>|<subset>|<fqdn> with the subset's mTLS SNI")
        {
            Yaml = With(ReviewsSubsets, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  hosts: [reviews]
                  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
                """),
            Calls =
            [
                Http("reviews").Expect(new()
                {
                    VirtualHost = $"{Reviews}:9080",
                    Cluster = Outbound(Reviews, subset: "v2"),
                    Endpoints = ["10.1.0.22:9080"],
                    UpstreamTransport = "mtls",
                    UpstreamSni = $"outbound_.9080_.v2_.{Reviews}",
                }),
            ],
        },
    ];

    /// <summary>reviews' DestinationRule: subsets v1, v2 and v3 (no v3 pod runs).</summary>
    public const string ReviewsSubsets = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          host: reviews
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
          - {name: v3, labels: {version: v3}}
        """;
}
