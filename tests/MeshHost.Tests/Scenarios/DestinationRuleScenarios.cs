using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using LbPolicy = Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy;

namespace MeshHost.Tests.Scenarios;

/// <summary>DestinationRule: subsets, load balancing, consistent hashing and upstream TLS, from sleep's side.</summary>
internal static class DestinationRuleScenarios
{
    /// <summary>A ready reviews v3 pod without a sidecar (no tlsMode label).</summary>
    private const string ReviewsV3WithoutSidecar = """
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v3, namespace: bookinfo, labels: {app: reviews, version: v3}}
        spec: {serviceAccountName: bookinfo-reviews}
        status: {podIP: 10.1.0.23, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    private static string RouteTo(string subset) => """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          hosts: [reviews]
          http:
          - name: to-SUBSET
            match: [{headers: {x-subset: {exact: SUBSET}}}]
            route: [{destination: {host: reviews, subset: SUBSET}}]
        """.Replace("SUBSET", subset, StringComparison.Ordinal);

    private static string? LbOf(Simulator sim, string cluster, LbPolicy want, Func<ClusterProto, bool>? more = null) =>
        !sim.Clusters.TryGetValue(cluster, out var c) ? $"no cluster {cluster}"
        : c.LbPolicy != want || (more is not null && !more(c)) ? $"{cluster}: lb {c.LbPolicy}, ring {c.RingHashLbConfig}, least {c.LeastRequestLbConfig}"
        : null;

    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("subsets pick their pods; auto-mTLS per endpoint: tlsMode istio gets mTLS with the subset SNI, others plaintext")
        {
            Yaml = With(ReviewsV3WithoutSidecar, NamingScenarios.ReviewsSubsets, RouteTo("v1")),
            Calls =
            [
                Http("reviews").WithHeaders(("x-subset", "v1")).Expect(new()
                {
                    Cluster = Outbound(Reviews, subset: "v1"),
                    Endpoints = ["10.1.0.21:9080"],
                    UpstreamTransport = "mtls",
                    UpstreamSni = $"outbound_.9080_.v1_.{Reviews}",
                }),
            ],
        },
        new MeshScenario("auto-mTLS: a subset of pods without a sidecar is reached in plaintext")
        {
            Yaml = With(ReviewsV3WithoutSidecar, NamingScenarios.ReviewsSubsets, RouteTo("v3")),
            Calls =
            [
                Http("reviews").WithHeaders(("x-subset", "v3")).Expect(new()
                {
                    Cluster = Outbound(Reviews, subset: "v3"),
                    Endpoints = ["10.1.0.23:9080"],
                    UpstreamTransport = "plaintext",
                }),
            ],
        },
        new MeshScenario("ISTIO_MUTUAL forces mTLS even to a pod without a sidecar; DISABLE forces plaintext to one with")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: ratings, namespace: bookinfo}
                spec:
                  host: ratings
                  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
                """, """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  host: reviews.bookinfo.svc.cluster.local
                  trafficPolicy: {tls: {mode: DISABLE}}
                """),
            Calls =
            [
                Http("ratings").Expect(new() { Cluster = Outbound(Ratings), UpstreamTransport = "mtls", UpstreamSni = $"outbound_.9080_._.{Ratings}" }),
                Http("reviews").Expect(new() { Cluster = Outbound(Reviews), UpstreamTransport = "plaintext" }),
            ],
        },
        new MeshScenario("load balancer types: simple per service, overridden per subset")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  host: reviews
                  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
                  subsets:
                  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {simple: RANDOM}}}
                  - {name: v2, labels: {version: v2}}
                """, """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: ratings, namespace: bookinfo}
                spec:
                  host: ratings
                  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
                """),
            Calls = [Http("reviews").Expect(new() { Cluster = Outbound(Reviews) })],
            Check = sim => LbOf(sim, Outbound(Reviews), LbPolicy.LeastRequest)
                ?? LbOf(sim, Outbound(Reviews, subset: "v1"), LbPolicy.Random)
                ?? LbOf(sim, Outbound(Reviews, subset: "v2"), LbPolicy.LeastRequest)
                ?? LbOf(sim, Outbound(Ratings), LbPolicy.RoundRobin),
        },
        new MeshScenario("consistent hash on a header: a ring-hash cluster and the route's hash policy")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  host: reviews
                  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, minimumRingSize: 2048}}}
                """),
            Calls =
            [
                Http("reviews").Expect(new() { Route = "default", Cluster = Outbound(Reviews) }, r =>
                    r.Route_.HashPolicy.SingleOrDefault()?.Header?.HeaderName == "x-user" ? null : $"hash policy {string.Join(",", r.Route_.HashPolicy)}"),
            ],
            Check = sim => LbOf(sim, Outbound(Reviews), LbPolicy.RingHash, c => c.RingHashLbConfig?.MinimumRingSize == 2048),
        },
        new MeshScenario("consistent hash of a subset reached through a VirtualService: the destination's hash policy")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  host: reviews
                  subsets:
                  - name: v1
                    labels: {version: v1}
                    trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: session, ttl: 60s, path: /}}}}
                  - {name: v2, labels: {version: v2}}
                """, RouteTo("v1")),
            Calls =
            [
                Http("reviews").WithHeaders(("x-subset", "v1")).Expect(new() { Route = "to-v1", Cluster = Outbound(Reviews, subset: "v1") }, r =>
                    r.Route_.HashPolicy.SingleOrDefault()?.Cookie is { Name: "session", Path: "/" } cookie && cookie.Ttl?.ToTimeSpan() == TimeSpan.FromSeconds(60)
                        ? null : $"hash policy {string.Join(",", r.Route_.HashPolicy)}"),
            ],
            Check = sim => LbOf(sim, Outbound(Reviews, subset: "v1"), LbPolicy.RingHash) ?? LbOf(sim, Outbound(Reviews), LbPolicy.LeastRequest),
        },
    ];
}
