using Envoy.Config.Route.V3;
using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;
using static MeshHost.Tests.Scenarios.NamingScenarios;
using CorsPolicy = Envoy.Extensions.Filters.Http.Cors.V3.CorsPolicy;
using HttpFault = Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault;
using RouteProto = Envoy.Config.Route.V3.Route;

namespace MeshHost.Tests.Scenarios;

/// <summary>Every VirtualService construct on a sidecar, proven by calls to reviews from sleep.</summary>
internal static class VirtualServiceScenarios
{
    private static readonly string V1 = Outbound(Reviews, subset: "v1");
    private static readonly string V2 = Outbound(Reviews, subset: "v2");

    /// <summary>The bookinfo mesh with reviews' subsets and a VirtualService for reviews with these http routes (YAML
    /// list items at column 0).</summary>
    private static string ReviewsVs(string http) => With(ReviewsSubsets, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          hosts: [reviews]
          http:
        """ + "\n" + string.Join('\n', http.Split('\n').Select(l => "  " + l)));

    private static string? Expect(bool holds, string problem) => holds ? null : problem;

    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("uri exact, prefix and regex, and ignoreUriCase")
        {
            Yaml = ReviewsVs("""
                - name: exact
                  match: [{uri: {exact: /exact}}]
                  route: [{destination: {host: reviews, subset: v1}}]
                - name: prefix
                  match: [{uri: {prefix: /api/}, ignoreUriCase: true}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: regex
                  match: [{uri: {regex: "/item/[0-9]+"}}]
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews", "/exact").Expect(new() { Route = "exact", Cluster = V1 }),
                Http("reviews", "/exact/more").Expect(new() { Status = 404, Error = "no route matched" }),
                Http("reviews", "/API/x").Expect(new() { Route = "prefix", Cluster = V2 }),
                Http("reviews", "/item/42").Expect(new() { Route = "regex", Cluster = V1 }),
                Http("reviews", "/item/x42").Expect(new() { Status = 404, Error = "no route matched" }),
                Http("reviews", "/EXACT").Expect(new() { Status = 404, Error = "no route matched" }),
            ],
        },
        new MeshScenario("headers exact, prefix, regex and present, and withoutHeaders")
        {
            Yaml = ReviewsVs("""
                - name: exact
                  match: [{headers: {x-user: {exact: jason}}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: prefix
                  match: [{headers: {x-group: {prefix: beta-}}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: regex
                  match: [{headers: {x-version: {regex: "v[23]"}}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: present
                  match: [{headers: {x-canary: {}}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: without-debug
                  match: [{withoutHeaders: {x-debug: {exact: "1"}}}]
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews").WithHeaders(("x-user", "jason")).Expect(new() { Route = "exact", Cluster = V2 }),
                Http("reviews").WithHeaders(("x-group", "beta-7")).Expect(new() { Route = "prefix", Cluster = V2 }),
                Http("reviews").WithHeaders(("x-version", "v3")).Expect(new() { Route = "regex", Cluster = V2 }),
                Http("reviews").WithHeaders(("x-version", "v33")).Expect(new() { Route = "without-debug", Cluster = V1 }),
                Http("reviews").WithHeaders(("x-canary", "")).Expect(new() { Route = "present", Cluster = V2 }),
                Http("reviews").Expect(new() { Route = "without-debug", Cluster = V1 }),
                Http("reviews").WithHeaders(("x-debug", "2")).Expect(new() { Route = "without-debug", Cluster = V1 }),
                Http("reviews").WithHeaders(("x-debug", "1")).Expect(new() { Status = 404, Error = "no route matched" }),
            ],
        },
        new MeshScenario("method, authority and queryParams")
        {
            Yaml = ReviewsVs("""
                - name: post
                  match: [{method: {exact: POST}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: authority
                  match: [{authority: {prefix: reviews.bookinfo}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: query
                  match: [{queryParams: {debug: {exact: "true"}}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - name: rest
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                (Http("reviews") with { Method = "POST" }).Expect(new() { Route = "post", Cluster = V2 }),
                Http("reviews.bookinfo:9080").Expect(new() { Route = "authority", Cluster = V2 }),
                Http("reviews", "/p?debug=true").Expect(new() { Route = "query", Cluster = V2 }),
                Http("reviews", "/p?debug=false").Expect(new() { Route = "rest", Cluster = V1 }),
                Http("reviews").Expect(new() { Route = "rest", Cluster = V1 }),
            ],
        },
        new MeshScenario("weights: weighted clusters with istiod's weights, zero weights dropped")
        {
            Yaml = ReviewsVs("""
                - name: split
                  route:
                  - {destination: {host: reviews, subset: v1}, weight: 75}
                  - {destination: {host: reviews, subset: v2}, weight: 25}
                  - {destination: {host: reviews, subset: v3}, weight: 0}
                """),
            Calls = [Http("reviews").Expect(new() { Route = "split", WeightedClusters = new Dictionary<string, uint> { [V1] = 75, [V2] = 25 } })],
        },
        new MeshScenario("per-destination headers and route headers")
        {
            Yaml = ReviewsVs("""
                - name: headers
                  headers: {request: {set: {x-route: r}}, response: {remove: [x-internal]}}
                  route:
                  - destination: {host: reviews, subset: v1}
                    headers: {request: {add: {x-dest: d}}}
                """),
            Calls =
            [
                Http("reviews").Expect(new() { Route = "headers", Cluster = V1 }, r => Expect(
                    r.RequestHeadersToAdd.Select(h => h.Header.Key).Order(StringComparer.Ordinal).SequenceEqual(["x-dest", "x-route"])
                        && r.ResponseHeadersToRemove.SequenceEqual(["x-internal"]),
                    $"request headers {string.Join(",", r.RequestHeadersToAdd.Select(h => h.Header.Key))}, response removes {string.Join(",", r.ResponseHeadersToRemove)}")),
            ],
        },
        new MeshScenario("timeout given, and retries by istiod's default")
        {
            Yaml = ReviewsVs("""
                - name: timed
                  timeout: 2.5s
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews").Expect(new() { Route = "timed", Cluster = V1 }, r => Expect(
                    r.Route_.Timeout?.ToTimeSpan() == TimeSpan.FromSeconds(2.5)
                        && r.Route_.RetryPolicy is { NumRetries: 2, HostSelectionRetryMaxAttempts: 5 } retry
                        && retry.RetryOn == "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
                        && retry.RetryHostPredicate.Single().Name == "envoy.retry_host_predicates.previous_hosts",
                    $"timeout {r.Route_.Timeout}, retry {r.Route_.RetryPolicy}")),
                // Without a VirtualService, istiod's default route: no timeout (0s) and the same default retries.
                Http("ratings").Expect(new() { Route = "default", Cluster = Outbound(Ratings) }, r => Expect(
                    r.Route_.Timeout?.ToTimeSpan() == TimeSpan.Zero && r.Route_.RetryPolicy?.NumRetries == 2,
                    $"timeout {r.Route_.Timeout}, retry {r.Route_.RetryPolicy}")),
            ],
        },
        new MeshScenario("explicit retries: attempts, perTryTimeout and retryOn with status codes")
        {
            Yaml = ReviewsVs("""
                - name: never
                  match: [{uri: {prefix: /once}}]
                  retries: {attempts: 0}
                  route: [{destination: {host: reviews, subset: v1}}]
                - name: retried
                  retries: {attempts: 4, perTryTimeout: 1s, retryOn: "5xx,429"}
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews", "/once").Expect(new() { Route = "never", Cluster = V1 }, r => Expect(r.Route_.RetryPolicy is null, $"retry {r.Route_.RetryPolicy}")),
                Http("reviews").Expect(new() { Route = "retried", Cluster = V1 }, r => Expect(
                    r.Route_.RetryPolicy is { NumRetries: 4 } retry && retry.PerTryTimeout?.ToTimeSpan() == TimeSpan.FromSeconds(1)
                        && retry.RetryOn == "5xx,retriable-status-codes" && retry.RetriableStatusCodes.SequenceEqual([429u]),
                    $"retry {r.Route_.RetryPolicy}")),
            ],
        },
        new MeshScenario("fault abort answers with its status; fault delay is put on the route")
        {
            Yaml = ReviewsVs("""
                - name: abort
                  match: [{headers: {x-fail: {exact: "1"}}}]
                  fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
                  route: [{destination: {host: reviews, subset: v1}}]
                - name: delay
                  fault: {delay: {fixedDelay: 7s, percentage: {value: 100}}}
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews").WithHeaders(("x-fail", "1")).Expect(new() { Route = "abort", Status = 418, Error = "fault abort 418" }),
                Http("reviews").Expect(new() { Route = "delay", Cluster = V1 }, r => Expect(
                    r.TypedPerFilterConfig.TryGetValue("envoy.filters.http.fault", out var any)
                        && any.Unpack<HttpFault>().Delay is { } delay && delay.FixedDelay?.ToTimeSpan() == TimeSpan.FromSeconds(7)
                        && delay.Percentage.Numerator == 1_000_000,
                    $"fault config {(r.TypedPerFilterConfig.TryGetValue("envoy.filters.http.fault", out var f) ? f.Unpack<HttpFault>() : "(none)")}")),
            ],
        },
        new MeshScenario("mirror, rewrite of uri and authority")
        {
            Yaml = ReviewsVs("""
                - name: rewritten
                  match: [{uri: {prefix: /old/}}]
                  rewrite: {uri: /new/, authority: reviews.internal}
                  mirror: {host: reviews, subset: v2}
                  mirrorPercentage: {value: 50}
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews", "/old/x").Expect(new() { Route = "rewritten", Cluster = V1 }, r => Expect(
                    r.Route_.PrefixRewrite == "/new/" && r.Route_.HostRewriteLiteral == "reviews.internal"
                        && r.Route_.RequestMirrorPolicies.Single() is { } m && m.Cluster == V2
                        && m.RuntimeFraction.DefaultValue.Numerator == 500_000,
                    $"rewrite {r.Route_.PrefixRewrite} host {r.Route_.HostRewriteLiteral} mirrors {string.Join(",", r.Route_.RequestMirrorPolicies)}")),
            ],
        },
        new MeshScenario("redirect and directResponse answer without an upstream")
        {
            Yaml = ReviewsVs("""
                - name: moved
                  match: [{uri: {exact: /old}}]
                  redirect: {uri: /new, authority: reviews.example.com, redirectCode: 308}
                - name: gone
                  match: [{uri: {prefix: /gone}}]
                  directResponse: {status: 410, body: {string: "gone"}}
                - route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews", "/old").Expect(new() { Route = "moved", Status = 308 }, r => Expect(
                    r.Redirect is { PathRedirect: "/new", HostRedirect: "reviews.example.com" },
                    $"redirect {r.Redirect}")),
                Http("reviews", "/gone/now").Expect(new() { Route = "gone", Status = 410 }, r => Expect(
                    r.DirectResponse.Body?.InlineString == "gone", $"direct response {r.DirectResponse}")),
                Http("reviews", "/other").Expect(new() { Cluster = V1 }),
            ],
        },
        new MeshScenario("CORS policy on the route")
        {
            Yaml = ReviewsVs("""
                - name: cors
                  corsPolicy:
                    allowOrigins: [{exact: "https://example.com"}, {regex: "https://.*\\.example\\.org"}]
                    allowMethods: [GET, POST]
                    allowHeaders: [x-custom]
                    maxAge: 24h
                    allowCredentials: true
                  route: [{destination: {host: reviews, subset: v1}}]
                """),
            Calls =
            [
                Http("reviews").Expect(new() { Route = "cors", Cluster = V1 }, r => Expect(
                    r.TypedPerFilterConfig.TryGetValue("envoy.filters.http.cors", out var any) && any.Unpack<CorsPolicy>() is { } cors
                        && cors.AllowOriginStringMatch.Count == 2 && cors.AllowOriginStringMatch[0].Exact == "https://example.com"
                        && cors.AllowMethods == "GET,POST" && cors.AllowHeaders == "x-custom" && cors.MaxAge == "86400" && cors.AllowCredentials == true,
                    $"cors {(r.TypedPerFilterConfig.TryGetValue("envoy.filters.http.cors", out var c) ? c.Unpack<CorsPolicy>() : "(none)")}")),
            ],
        },
        new MeshScenario("delegate: the root's match narrows the delegate's routes")
        {
            Yaml = With(ReviewsSubsets, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews-root, namespace: bookinfo}
                spec:
                  hosts: [reviews]
                  http:
                  - match: [{uri: {prefix: /v2}}]
                    delegate: {name: reviews-v2, namespace: bookinfo}
                  - route: [{destination: {host: reviews, subset: v1}}]
                """, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews-v2, namespace: bookinfo}
                spec:
                  http:
                  - name: jason
                    match: [{uri: {prefix: /v2/jason}}]
                    route: [{destination: {host: reviews, subset: v2}}]
                  - name: v2-rest
                    route: [{destination: {host: reviews, subset: v1}, weight: 50}, {destination: {host: reviews, subset: v2}, weight: 50}]
                """),
            Calls =
            [
                Http("reviews", "/v2/jason/x").Expect(new() { Route = "jason", Cluster = V2 }),
                Http("reviews", "/v2/other").Expect(new() { Route = "v2-rest", WeightedClusters = new Dictionary<string, uint> { [V1] = 50, [V2] = 50 } }),
                Http("reviews", "/other").Expect(new() { Cluster = V1 }),
            ],
        },
    ];
}
