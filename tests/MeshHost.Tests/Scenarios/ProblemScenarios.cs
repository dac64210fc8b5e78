using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;
using static MeshHost.Tests.Scenarios.NamingScenarios;

namespace MeshHost.Tests.Scenarios;

/// <summary>Bad and conflicting objects: each is reported (kind/namespace/name and the reason) and the rest of the
/// mesh is still served.</summary>
internal static class ProblemScenarios
{
    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("a broken VirtualService next to a good one: reported, and the good one still routes")
        {
            Yaml = With(ReviewsSubsets, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: ratings-broken, namespace: bookinfo}
                spec:
                  hosts: [ratings]
                  http:
                  - match: [{uri: {regex: "(["}}]
                    route: [{destination: {host: ratings}}]
                """, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews-good, namespace: bookinfo}
                spec:
                  hosts: [reviews]
                  http: [{name: v2, route: [{destination: {host: reviews, subset: v2}}]}]
                """),
            Calls =
            [
                Http("reviews").Expect(new() { Route = "v2", Cluster = Outbound(Reviews, subset: "v2") }),
                // The broken route is skipped: ratings falls back to istiod's default route.
                Http("ratings").Expect(new() { VirtualHost = $"{Ratings}:9080", Cluster = Outbound(Ratings) }),
            ],
            Problems = ["networking.istio.io/VirtualService/bookinfo/ratings-broken: spec.http[0].match[0].uri"],
        },
        new MeshScenario("a VirtualService whose spec does not parse: reported, the mesh still served")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: garbage, namespace: bookinfo}
                spec:
                  hosts: reviews
                  http: {route: 42}
                """),
            Calls = [Http("reviews").Expect(new() { Route = "default", Cluster = Outbound(Reviews) })],
            Problems = ["networking.istio.io/VirtualService/bookinfo/garbage"],
        },
        new MeshScenario("a redirect with a bad code: skipped and reported, the next route serves; redirect beats route as in istiod")
        {
            Yaml = With(ReviewsSubsets, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  hosts: [reviews]
                  http:
                  - match: [{uri: {prefix: /both}}]
                    redirect: {uri: /x}
                    route: [{destination: {host: reviews, subset: v2}}]
                  - match: [{uri: {prefix: /bad}}]
                    redirect: {uri: /x, redirectCode: 200}
                  - name: rest
                    route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                // istiod translates redirect before route (its admission webhook, not istiod, rejects the mix).
                Http("reviews", "/both").Expect(new() { Status = 301 }),
                Http("reviews", "/bad").Expect(new() { Route = "rest", Cluster = Outbound(Reviews, subset: "v1") }),
            ],
            Problems = ["networking.istio.io/VirtualService/bookinfo/reviews: spec.http[1].redirect.redirectCode"],
        },
        new MeshScenario("a DestinationRule defining a subset twice: reported, the first definition used")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  host: reviews
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v1, labels: {version: v2}}
                """, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  hosts: [reviews]
                  http: [{route: [{destination: {host: reviews, subset: v1}}]}]
                """),
            Calls = [Http("reviews").Expect(new() { Cluster = Outbound(Reviews, subset: "v1"), Endpoints = ["10.1.0.21:9080"] })],
            Problems = ["networking.istio.io/DestinationRule/bookinfo/reviews: spec.subsets: subset \"v1\" is defined twice"],
        },
        new MeshScenario("an AuthorizationPolicy with an unsupported action: reported and skipped, the other policies enforced")
        {
            Yaml = With("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: custom, namespace: bookinfo}
                spec:
                  action: CUSTOM
                  provider: {name: ext-authz}
                  rules: [{}]
                """, """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: bookinfo}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/admin"]}}]}]
                """),
            Proxy = ReviewsV1,
            Calls =
            [
                new SimulatedCall { Mode = CallMode.Inbound, Address = "10.1.0.21", Port = 9080, Host = "reviews", Path = "/admin", Tls = CallTls.Mutual, Principal = SleepPrincipal }
                    .Expect(new() { Status = 403, RbacAllowed = false, Error = "RBAC: access denied" }),
                new SimulatedCall { Mode = CallMode.Inbound, Address = "10.1.0.21", Port = 9080, Host = "reviews", Path = "/", Tls = CallTls.Mutual, Principal = SleepPrincipal }
                    .Expect(new() { Cluster = "inbound|9080||" }),
            ],
            Problems = ["security.istio.io/AuthorizationPolicy/bookinfo/custom: spec.action"],
        },
    ];
}
