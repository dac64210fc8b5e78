using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;
using static MeshHost.Tests.Scenarios.NamingScenarios;

namespace MeshHost.Tests.Scenarios;

/// <summary>The cases a translation most easily gets wrong, each on its own.</summary>
internal static class TrickyScenarios
{
    private const string HeaderFirst = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          hosts: [reviews]
          http:
          - name: jason
            match: [{headers: {end-user: {exact: jason}}}]
            route: [{destination: {host: reviews, subset: v2}}]
          - name: everyone
            route: [{destination: {host: reviews, subset: v1}}]
        """;

    private const string CatchAllFirst = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          hosts: [reviews]
          http:
          - name: everyone
            route: [{destination: {host: reviews, subset: v1}}]
          - name: jason
            match: [{headers: {end-user: {exact: jason}}}]
            route: [{destination: {host: reviews, subset: v2}}]
        """;

    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("two services on one port: each host header reaches its own cluster")
        {
            Yaml = Yaml,
            Calls =
            [
                // Same listener, same destination address: only the Host header tells them apart.
                Http("reviews:9080").Expect(new() { Listener = "0.0.0.0_9080", VirtualHost = $"{Reviews}:9080", Cluster = Outbound(Reviews), UpstreamTransport = "mtls" }),
                Http("ratings:9080").Expect(new()
                {
                    Listener = "0.0.0.0_9080",
                    VirtualHost = $"{Ratings}:9080",
                    Cluster = Outbound(Ratings),
                    Endpoints = ["10.1.0.31:9080"],
                    // ratings has no sidecar (no tlsMode label): auto-mTLS sends plaintext.
                    UpstreamTransport = "plaintext",
                }),
                Http("details.bookinfo.svc.cluster.local").Expect(new() { VirtualHost = $"{Details}:9080", Cluster = Outbound(Details) }),
                Http("10.96.0.21").Expect(new() { VirtualHost = $"{Ratings}:9080", Cluster = Outbound(Ratings) }),
            ],
        },
        new MeshScenario("a short host name from another namespace does not match bookinfo's reviews")
        {
            Yaml = Yaml,
            Proxy = OtherSleep,
            Calls =
            [
                Http("reviews:9080").Expect(new() { VirtualHost = "allow_any", Cluster = "PassthroughCluster" }),
                Http("reviews").Expect(new() { VirtualHost = "allow_any", Cluster = "PassthroughCluster" }),
                Http("reviews.bookinfo:9080").Expect(new() { VirtualHost = $"{Reviews}:9080", Cluster = Outbound(Reviews) }),
                Http("reviews.bookinfo.svc").Expect(new() { VirtualHost = $"{Reviews}:9080", Cluster = Outbound(Reviews) }),
                // Its own namespace's short names still work.
                Http("httpbin:8000", port: 8000, address: "10.96.1.10").Expect(new() { Listener = "0.0.0.0_8000", VirtualHost = $"{Httpbin}:8000", Cluster = Outbound(Httpbin, 8000), Endpoints = ["10.1.1.10:80"] }),
            ],
        },
        new MeshScenario("header precedence: the first matching http route wins, the header route before the catch-all")
        {
            Yaml = With(ReviewsSubsets, HeaderFirst),
            Calls =
            [
                Http("reviews").WithHeaders(("end-user", "jason")).Expect(new() { Route = "jason", Cluster = Outbound(Reviews, subset: "v2") }),
                Http("reviews").WithHeaders(("end-user", "json")).Expect(new() { Route = "everyone", Cluster = Outbound(Reviews, subset: "v1") }),
                Http("reviews").Expect(new() { Route = "everyone", Cluster = Outbound(Reviews, subset: "v1") }),
            ],
        },
        new MeshScenario("header precedence: a catch-all listed first shadows the header route")
        {
            Yaml = With(ReviewsSubsets, CatchAllFirst),
            Calls =
            [
                Http("reviews").WithHeaders(("end-user", "jason")).Expect(new() { Route = "everyone", Cluster = Outbound(Reviews, subset: "v1") }),
            ],
        },
        new MeshScenario("a subset without endpoints: routed to its cluster, which has no healthy upstream (503)")
        {
            Yaml = With(ReviewsSubsets, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  hosts: [reviews]
                  http: [{route: [{destination: {host: reviews, subset: v3}}]}]
                """),
            Calls =
            [
                Http("reviews").Expect(new()
                {
                    Cluster = Outbound(Reviews, subset: "v3"),
                    Endpoints = [],
                    Status = 503,
                    Error = "no healthy upstream",
                }),
            ],
        },
        new MeshScenario("REGISTRY_ONLY from a Sidecar: unknown HTTP host gets 502 from block_all, unknown TCP goes to BlackHoleCluster")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: bookinfo}
                spec:
                  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
                """),
            Calls =
            [
                Http("unknown.example.com", address: "203.0.113.9").Expect(new() { Listener = "0.0.0.0_9080", VirtualHost = "block_all", Status = 502 }),
                new SimulatedCall { Address = "203.0.113.9", Port = 5555, Protocol = CallProtocol.Tcp }.Expect(new()
                {
                    Listener = "virtualOutbound",
                    Cluster = "BlackHoleCluster",
                    Endpoints = [],
                    Error = "no healthy upstream",
                }),
                // Known services still route.
                Http("reviews").Expect(new() { Cluster = Outbound(Reviews) }),
            ],
        },
        new MeshScenario("ALLOW_ANY (the default): unknown HTTP host and unknown TCP both pass through")
        {
            Yaml = Yaml,
            Calls =
            [
                Http("unknown.example.com", address: "203.0.113.9").Expect(new() { VirtualHost = "allow_any", Cluster = "PassthroughCluster", Endpoints = ["203.0.113.9:9080"] }),
                new SimulatedCall { Address = "203.0.113.9", Port = 5555, Protocol = CallProtocol.Tcp }.Expect(new() { Listener = "virtualOutbound", Cluster = "PassthroughCluster" }),
            ],
        },
    ];
}
