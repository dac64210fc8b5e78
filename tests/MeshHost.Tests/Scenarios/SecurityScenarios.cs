using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;

namespace MeshHost.Tests.Scenarios;

/// <summary>PeerAuthentication modes and AuthorizationPolicy on reviews v1's inbound side.</summary>
internal static class SecurityScenarios
{
    private static SimulatedCall Inbound(string path = "/", string? principal = SleepPrincipal, string method = "GET", int port = 9080) => new()
    {
        Mode = CallMode.Inbound,
        Address = "10.1.0.21",
        Port = port,
        Host = "reviews:9080",
        Path = path,
        Method = method,
        Tls = principal is null ? CallTls.Plaintext : CallTls.Mutual,
        Principal = principal,
    };

    private static string PeerAuthentication(string mode) => $$"""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: bookinfo}
        spec:
          mtls: {mode: {{mode}}}
        """;

    private static readonly SimulationExpectation Served = new() { Listener = "virtualInbound", FilterChain = "0.0.0.0_9080", Cluster = "inbound|9080||" };

    private static readonly SimulationExpectation Forbidden = new() { Cluster = null, Status = 403, RbacAllowed = false, Error = "RBAC: access denied" };

    /// <summary>The names of the HTTP filters of the chain a call takes.</summary>
    private static string? FilterOrder(Simulator sim, SimulatedCall call, params string[] expected)
    {
        var result = sim.Run(call);
        var listener = sim.Listeners.Single(l => l.Name == result.Listener);
        var chain = listener.FilterChains.Concat(listener.DefaultFilterChain is { } d ? [d] : []).First(c => c.Name == result.FilterChain);
        var hcm = chain.Filters.Select(f => f.TypedConfig).Single(a => a.Is(HttpConnectionManager.Descriptor)).Unpack<HttpConnectionManager>();
        var names = hcm.HttpFilters.Select(f => f.Name).Where(expected.Contains).ToList();
        return names.SequenceEqual(expected) ? null : $"{result.Listener}/{result.FilterChain}: filters {string.Join(" → ", hcm.HttpFilters.Select(f => f.Name))}";
    }

    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("STRICT mTLS: the inbound side refuses plaintext and serves mTLS")
        {
            Yaml = With(PeerAuthentication("STRICT")),
            Proxy = ReviewsV1,
            Calls =
            [
                Inbound(principal: null).Expect(new() { Listener = "virtualInbound", Cluster = null, AnyError = true }),
                Inbound().Expect(Served),
            ],
            Check = sim => sim.Run(Inbound(principal: null)).Error is null ? "plaintext was accepted" : null,
        },
        new MeshScenario("PERMISSIVE mTLS (the default): plaintext and mTLS are both served")
        {
            Yaml = Yaml,
            Proxy = ReviewsV1,
            Calls = [Inbound(principal: null).Expect(Served), Inbound().Expect(Served)],
        },
        new MeshScenario("PERMISSIVE mTLS given explicitly: plaintext and mTLS are both served")
        {
            Yaml = With(PeerAuthentication("PERMISSIVE")),
            Proxy = ReviewsV1,
            Calls = [Inbound(principal: null).Expect(Served), Inbound().Expect(Served)],
        },
        new MeshScenario("DISABLE mTLS: plaintext only")
        {
            Yaml = With(PeerAuthentication("DISABLE")),
            Proxy = ReviewsV1,
            Calls =
            [
                Inbound(principal: null).Expect(Served),
                Inbound().Expect(new() { Listener = "virtualInbound", Cluster = null, AnyError = true }),
            ],
            Check = sim => sim.Run(Inbound()).Error is null ? "mTLS was accepted by a DISABLE workload" : null,
        },
        new MeshScenario("AuthorizationPolicy ALLOW by principal, method and path: other principals and plaintext get 403")
        {
            Yaml = With("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: reviews-viewer, namespace: bookinfo}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  action: ALLOW
                  rules:
                  - from: [{source: {principals: [cluster.local/ns/bookinfo/sa/sleep]}}]
                    to: [{operation: {methods: [GET], paths: ["/reviews*"]}}]
                """),
            Proxy = ReviewsV1,
            Calls =
            [
                Inbound("/reviews/1").Expect(Served with { RbacAllowed = true }),
                Inbound("/reviews/1", method: "DELETE").Expect(Forbidden),
                Inbound("/ratings").Expect(Forbidden),
                Inbound("/reviews/1", ProductpagePrincipal).Expect(Forbidden),
                Inbound("/reviews/1", principal: null).Expect(Forbidden),
            ],
        },
        new MeshScenario("AuthorizationPolicy ALLOW by namespace: a principal of another namespace gets 403")
        {
            Yaml = With("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: same-namespace, namespace: bookinfo}
                spec:
                  action: ALLOW
                  rules: [{from: [{source: {namespaces: [bookinfo]}}]}]
                """),
            Proxy = ReviewsV1,
            Calls =
            [
                Inbound().Expect(Served with { RbacAllowed = true }),
                Inbound(principal: ProductpagePrincipal).Expect(Served with { RbacAllowed = true }),
                Inbound(principal: OtherPrincipal).Expect(Forbidden),
            ],
        },
        new MeshScenario("AuthorizationPolicy DENY on a path wins over an ALLOW for the same principal")
        {
            Yaml = With("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: bookinfo}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
                """, """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-sleep, namespace: bookinfo}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  action: ALLOW
                  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/sleep]}}]}]
                """),
            Proxy = ReviewsV1,
            Calls =
            [
                Inbound("/admin/users").Expect(Forbidden),
                Inbound("/reviews").Expect(Served with { RbacAllowed = true }),
                Inbound("/reviews", ProductpagePrincipal).Expect(Forbidden),
            ],
        },
        new MeshScenario("AuthorizationPolicy on TCP: the network RBAC filter allows by principal")
        {
            Yaml = With("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: reviews-tcp, namespace: bookinfo}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/sleep]}}], to: [{operation: {ports: ["7777"]}}]}]
                """),
            Proxy = ReviewsV1,
            Calls =
            [
                // Port 7777 is served by no service: the inbound passthrough chains still enforce the policy.
                Inbound(port: 7777).Expect(new() { Cluster = "InboundPassthroughCluster", RbacAllowed = true }),
                (Inbound(port: 7777, principal: ProductpagePrincipal) with { Protocol = CallProtocol.Tcp }).Expect(new() { RbacAllowed = false, Error = "RBAC: access denied" }),
            ],
        },
        new MeshScenario("HTTP filter order: RBAC, then fault, then CORS, then the router")
        {
            Yaml = With("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-all, namespace: bookinfo}
                spec:
                  rules: [{}]
                """),
            Proxy = ReviewsV1,
            Calls = [Inbound().Expect(Served with { RbacAllowed = true })],
            Check = sim => FilterOrder(sim, Inbound(), "envoy.filters.http.rbac", "envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router")
                ?? FilterOrder(sim, Http("ratings:9080"), "envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"),
        },
    ];
}
