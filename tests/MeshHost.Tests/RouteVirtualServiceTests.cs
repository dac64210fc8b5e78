using Envoy.Config.Route.V3;
using MeshHost.Generation;
using EnvoyRoute = Envoy.Config.Route.V3.Route;
using FaultConfig = Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault;
using CorsConfig = Envoy.Extensions.Filters.Http.Cors.V3.CorsPolicy;
using static MeshHost.Tests.RouteBuilderTests;

namespace MeshHost.Tests;

/// <summary>VirtualService http[] routes on a sidecar: each construct, table-driven over manifests.</summary>
public class RouteVirtualServiceTests
{
    private const string ReviewsHost = $"{ReviewsFqdn}:9080";
    private const string V1 = $"outbound|9080|v1|{ReviewsFqdn}";
    private const string V2 = $"outbound|9080|v2|{ReviewsFqdn}";

    /// <summary>A VirtualService for reviews with these http routes (YAML list items, indented 2).</summary>
    private static string ReviewsVs(string http, string extraSpec = "") => $"""

        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {"{"}name: reviews-vs, namespace: bookinfo{"}"}
        spec:
          hosts: [reviews]
        {extraSpec}  http:
        {http}
        """;

    private static async Task<(PushContext Context, IReadOnlyList<EnvoyRoute> Routes)> Routes(string http, IReadOnlyDictionary<string, string>? labels = null, string proxyNamespace = "bookinfo")
    {
        var context = await MeshFixture.LoadAsync(Mesh + ReviewsVs(http));
        var config = RouteBuilder.Build(context, Sidecar(proxyNamespace, labels), "9080")!;
        return (context, RoutesOf(config, ReviewsHost));
    }

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var name in Table.Keys)
        {
            data.Add(name);
        }
        return data;
    }

    private static readonly Dictionary<string, (string Http, Action<IReadOnlyList<EnvoyRoute>> Check)> Table = new()
    {
        ["uri exact, prefix, regex and ignoreUriCase"] = ("""
              - match: [{uri: {exact: /a}}, {uri: {prefix: /b}, ignoreUriCase: true}, {uri: {regex: "/c/[0-9]+"}}]
                route: [{destination: {host: reviews, subset: v1}}]
            """, routes =>
        {
            Assert.Equal(3, routes.Count);
            Assert.Equal("/a", routes[0].Match.Path);
            Assert.True(routes[0].Match.CaseSensitive);
            Assert.Equal("/b", routes[1].Match.Prefix);
            Assert.False(routes[1].Match.CaseSensitive);
            Assert.Equal("/c/[0-9]+", routes[2].Match.SafeRegex.Regex);
            Assert.Equal($"{ReviewsFqdn}:9080/a", routes[0].Decorator.Operation);
            Assert.Equal($"{ReviewsFqdn}:9080/b*", routes[1].Decorator.Operation);
            Assert.All(routes, r => Assert.Equal(V1, r.Route_.Cluster));
        }),
        ["headers, withoutHeaders, method, authority and query parameters"] = ("""
              - match:
                - headers: {x-user: {exact: jason}, x-pre: {prefix: ab}, x-re: {regex: "v[12]"}, x-any: {}}
                  withoutHeaders: {x-debug: {exact: "1"}, x-gone: {}}
                  method: {exact: GET}
                  authority: {prefix: reviews}
                  queryParams: {q: {exact: "1"}, p: {regex: "*"}}
                route: [{destination: {host: reviews}}]
            """, routes =>
        {
            var m = Assert.Single(routes).Match;
            Assert.Equal(["x-any", "x-debug", "x-gone", "x-pre", "x-re", "x-user", ":method", ":authority"], m.Headers.Select(h => h.Name));
            Assert.True(m.Headers[0].PresentMatch);
            Assert.True(m.Headers[1].InvertMatch);
            Assert.True(m.Headers[1].TreatMissingHeaderAsEmpty);
            Assert.Equal("1", m.Headers[1].StringMatch.Exact);
            Assert.True(m.Headers[2].InvertMatch);
            Assert.True(m.Headers[2].PresentMatch);
            Assert.False(m.Headers[2].TreatMissingHeaderAsEmpty);
            Assert.Equal("ab", m.Headers[3].StringMatch.Prefix);
            Assert.Equal("v[12]", m.Headers[4].StringMatch.SafeRegex.Regex);
            Assert.Equal("jason", m.Headers[5].StringMatch.Exact);
            Assert.Equal("GET", m.Headers[6].StringMatch.Exact);
            Assert.Equal("reviews", m.Headers[7].StringMatch.Prefix);
            Assert.Equal(["p", "q"], m.QueryParameters.Select(q => q.Name));
            Assert.True(m.QueryParameters[0].PresentMatch);
            Assert.Equal("1", m.QueryParameters[1].StringMatch.Exact);
        }),
        ["a match on another port, or for other source labels or namespace, does not apply"] = ("""
              - match: [{port: 8080}, {sourceLabels: {app: other}}, {sourceNamespace: frontend}, {sourceLabels: {app: sleep}, sourceNamespace: bookinfo, uri: {prefix: /mine}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - route: [{destination: {host: reviews, subset: v1}}]
            """, routes =>
        {
            Assert.Equal(2, routes.Count);
            Assert.Equal("/mine", routes[0].Match.Prefix);
            Assert.Equal(V2, routes[0].Route_.Cluster);
            Assert.Equal(V1, routes[1].Route_.Cluster);
        }),
        ["weighted destinations with subsets, zero weights dropped, per-destination headers"] = ("""
              - route:
                - destination: {host: reviews, subset: v1}
                  weight: 75
                  headers: {request: {set: {x-v: "1"}}, response: {remove: [x-internal]}}
                - destination: {host: reviews, subset: v2}
                  weight: 25
                - destination: {host: reviews, subset: v3}
                  weight: 0
            """, routes =>
        {
            var action = Assert.Single(routes).Route_;
            Assert.Equal(RouteAction.ClusterSpecifierOneofCase.WeightedClusters, action.ClusterSpecifierCase);
            var clusters = action.WeightedClusters.Clusters;
            Assert.Equal([V1, V2], clusters.Select(c => c.Name));
            Assert.Equal([75u, 25u], clusters.Select(c => c.Weight!.Value));
            Assert.Equal("x-v", Assert.Single(clusters[0].RequestHeadersToAdd).Header.Key);
            Assert.Equal(["x-internal"], clusters[0].ResponseHeadersToRemove);
            // Several clusters: the decorator names the VirtualService.
            Assert.Equal("reviews-vs:9080/*", routes[0].Decorator.Operation);
        }),
        ["a single destination: explicit port, route and destination headers, authority rewrite"] = ("""
              - name: to-ratings
                headers:
                  request: {set: {x-b: "2", x-a: "1", ":authority": ignored-by-set-order}, add: {x-c: "3"}, remove: [x-drop, host]}
                  response: {add: {x-r: "r"}}
                route:
                - destination: {host: ratings, port: {number: 9090}}
                  headers: {request: {set: {x-d: "4", host: ratings.example}}}
            """, routes =>
        {
            var r = Assert.Single(routes);
            Assert.Equal("to-ratings", r.Name);
            Assert.Equal("outbound|9090||ratings.bookinfo.svc.cluster.local", r.Route_.Cluster);
            Assert.Equal(["x-a", "x-b", "x-c", "x-d"], r.RequestHeadersToAdd.Select(h => h.Header.Key));
            Assert.Equal(Envoy.Config.Core.V3.HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd, r.RequestHeadersToAdd[0].AppendAction);
            Assert.Equal(Envoy.Config.Core.V3.HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd, r.RequestHeadersToAdd[2].AppendAction);
            Assert.Equal(["x-drop"], r.RequestHeadersToRemove);
            Assert.Equal("x-r", Assert.Single(r.ResponseHeadersToAdd).Header.Key);
            // The route's :authority wins over the destination's host header.
            Assert.Equal("ignored-by-set-order", r.Route_.HostRewriteLiteral);
            Assert.Equal("ratings.bookinfo.svc.cluster.local:9090/*", r.Decorator.Operation);
        }),
        ["timeouts: given, 0s and absent"] = ("""
              - match: [{uri: {prefix: /slow}}]
                timeout: 2.5s
                route: [{destination: {host: reviews}}]
              - match: [{uri: {prefix: /none}}]
                timeout: 0s
                route: [{destination: {host: reviews}}]
              - route: [{destination: {host: reviews}}]
            """, routes =>
        {
            Assert.Equal(TimeSpan.FromSeconds(2.5), routes[0].Route_.Timeout.ToTimeSpan());
#pragma warning disable CS0612, CS0618
            Assert.Equal(TimeSpan.FromSeconds(2.5), routes[0].Route_.MaxGrpcTimeout.ToTimeSpan());
            Assert.Equal(TimeSpan.Zero, routes[1].Route_.MaxGrpcTimeout.ToTimeSpan());
#pragma warning restore CS0612, CS0618
            Assert.Equal(TimeSpan.Zero, routes[1].Route_.Timeout.ToTimeSpan());
            Assert.Equal(TimeSpan.Zero, routes[2].Route_.Timeout.ToTimeSpan());
            Assert.Equal($"outbound|9080||{ReviewsFqdn}", routes[2].Route_.Cluster);
        }),
        ["retries: given, disabled and default"] = ("""
              - match: [{uri: {prefix: /a}}]
                retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,503,gateway-error", retryRemoteLocalities: true, retryIgnorePreviousHosts: false}
                route: [{destination: {host: reviews}}]
              - match: [{uri: {prefix: /b}}]
                retries: {attempts: 0}
                route: [{destination: {host: reviews}}]
              - route: [{destination: {host: reviews}}]
            """, routes =>
        {
            var given = routes[0].Route_.RetryPolicy;
            Assert.Equal(3u, given.NumRetries);
            Assert.Equal("5xx,gateway-error,retriable-status-codes", given.RetryOn);
            Assert.Equal([503u], given.RetriableStatusCodes);
            Assert.Equal(TimeSpan.FromSeconds(1), given.PerTryTimeout.ToTimeSpan());
            Assert.Empty(given.RetryHostPredicate);
            Assert.Equal("envoy.retry_priorities.previous_priorities", given.RetryPriority.Name);
            Assert.Null(routes[1].Route_.RetryPolicy);
            Assert.Equal(2u, routes[2].Route_.RetryPolicy.NumRetries);
        }),
        ["fault delay and abort"] = ("""
              - fault:
                  delay: {fixedDelay: 5s, percentage: {value: 10.5}}
                  abort: {httpStatus: 418, percentage: {value: 1}}
                route: [{destination: {host: reviews}}]
            """, routes =>
        {
            var fault = Assert.Single(routes).TypedPerFilterConfig["envoy.filters.http.fault"].Unpack<FaultConfig>();
            Assert.Equal(TimeSpan.FromSeconds(5), fault.Delay.FixedDelay.ToTimeSpan());
            Assert.Equal(105000u, fault.Delay.Percentage.Numerator);
            Assert.Equal(Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Million, fault.Delay.Percentage.Denominator);
            Assert.Equal(418u, fault.Abort.HttpStatus);
            Assert.Equal(10000u, fault.Abort.Percentage.Numerator);
        }),
        ["mirror and mirrors"] = ("""
              - mirror: {host: ratings}
                mirrorPercentage: {value: 50}
                mirrors:
                - destination: {host: reviews, subset: v2}
                - destination: {host: reviews, subset: v1}
                  percentage: {value: 0}
                route: [{destination: {host: reviews, subset: v1}}]
            """, routes =>
        {
            var policies = Assert.Single(routes).Route_.RequestMirrorPolicies;
            Assert.Equal(["outbound|9080||ratings.bookinfo.svc.cluster.local", V2], policies.Select(p => p.Cluster));
            Assert.Equal(500000u, policies[0].RuntimeFraction.DefaultValue.Numerator);
            Assert.Equal(100u, policies[1].RuntimeFraction.DefaultValue.Numerator);
            Assert.Equal(Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Hundred, policies[1].RuntimeFraction.DefaultValue.Denominator);
            Assert.False(policies[0].TraceSampled);
        }),
        ["rewrites: prefix and authority, regex"] = ("""
              - match: [{uri: {prefix: /old}}]
                rewrite: {uri: /new, authority: reviews.internal}
                route: [{destination: {host: reviews}}]
              - rewrite: {uriRegexRewrite: {match: "^/v1/(.*)$", rewrite: "/\\1"}}
                route: [{destination: {host: reviews}}]
            """, routes =>
        {
            Assert.Equal("/new", routes[0].Route_.PrefixRewrite);
            Assert.Equal("reviews.internal", routes[0].Route_.HostRewriteLiteral);
            Assert.Equal("^/v1/(.*)$", routes[1].Route_.RegexRewrite.Pattern.Regex);
            Assert.Equal("/\\1", routes[1].Route_.RegexRewrite.Substitution);
        }),
        ["redirect and direct response"] = ("""
              - match: [{uri: {exact: /moved}}]
                redirect: {uri: /here, authority: new.example, port: 8443, scheme: https, redirectCode: 307}
              - match: [{uri: {exact: /same-port}}]
                redirect: {uri: /x, derivePort: FROM_REQUEST_PORT}
              - directResponse: {status: 503, body: {string: unavailable}}
            """, routes =>
        {
            var r = routes[0].Redirect;
            Assert.Equal("/here", r.PathRedirect);
            Assert.Equal("new.example", r.HostRedirect);
            Assert.Equal(8443u, r.PortRedirect);
            Assert.Equal("https", r.SchemeRedirect);
            Assert.Equal(RedirectAction.Types.RedirectResponseCode.TemporaryRedirect, r.ResponseCode);
            Assert.Equal("reviews-vs:9080/moved", routes[0].Decorator.Operation);
            Assert.Equal(9080u, routes[1].Redirect.PortRedirect);
            Assert.Equal(RedirectAction.Types.RedirectResponseCode.MovedPermanently, routes[1].Redirect.ResponseCode);
            Assert.Equal(503u, routes[2].DirectResponse.Status);
            Assert.Equal("unavailable", routes[2].DirectResponse.Body.InlineString);
        }),
        ["cors policy"] = ("""
              - corsPolicy:
                  allowOrigins: [{exact: "https://a.example"}, {regex: "https://.*\\.b\\.example"}]
                  allowMethods: [GET, POST]
                  allowHeaders: [x-a, x-b]
                  exposeHeaders: [x-c]
                  maxAge: 24h
                  allowCredentials: true
                route: [{destination: {host: reviews}}]
            """, routes =>
        {
            var cors = Assert.Single(routes).TypedPerFilterConfig["envoy.filters.http.cors"].Unpack<CorsConfig>();
            Assert.Equal("https://a.example", cors.AllowOriginStringMatch[0].Exact);
            Assert.Equal("https://.*\\.b\\.example", cors.AllowOriginStringMatch[1].SafeRegex.Regex);
            Assert.Equal("GET,POST", cors.AllowMethods);
            Assert.Equal("x-a,x-b", cors.AllowHeaders);
            Assert.Equal("x-c", cors.ExposeHeaders);
            Assert.Equal("86400", cors.MaxAge);
            Assert.True(cors.AllowCredentials);
            Assert.True(cors.ForwardNotMatchingPreflights);
            Assert.Equal(100u, cors.FilterEnabled.DefaultValue.Numerator);
        }),
        ["route and match names, config metadata"] = ("""
              - name: primary
                match: [{name: jason, headers: {end-user: {exact: jason}}}, {uri: {prefix: /api}}]
                route: [{destination: {host: reviews, subset: v2}}]
            """, routes =>
        {
            Assert.Equal(["primary.jason", "primary"], routes.Select(r => r.Name));
            Assert.Equal("/apis/networking.istio.io/v1/namespaces/bookinfo/virtual-service/reviews-vs",
                routes[0].Metadata.FilterMetadata["istio"].Fields["config"].StringValue);
        }),
        ["routes keep their order and stop at the first catch-all"] = ("""
              - match: [{headers: {end-user: {exact: jason}}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - match: [{uri: {prefix: /}}]
                route: [{destination: {host: reviews, subset: v1}}]
              - route: [{destination: {host: reviews, subset: v3}}]
            """, routes =>
        {
            Assert.Equal([V2, V1], routes.Select(r => r.Route_.Cluster));
            Assert.Equal("end-user", Assert.Single(routes[0].Match.Headers).Name);
            Assert.True(RouteTranslator.IsCatchAll(routes[1]));
        }),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_virtual_service_construct_becomes_istiods_envoy_route(string name)
    {
        var (http, check) = Table[name];
        var (context, routes) = await Routes(http);
        Assert.Empty(context.Problems);
        check(routes);
    }

    [Fact]
    public async Task An_invalid_regex_is_reported_and_only_its_route_skipped()
    {
        var (context, routes) = await Routes("""
              - match: [{uri: {regex: "/broken/("}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - match: [{headers: {x: {regex: "(?=lookahead)"}}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - route: [{destination: {host: reviews, subset: v1}}]
            """);
        Assert.Equal(V1, Assert.Single(routes).Route_.Cluster);
        Assert.Equal(2, context.Problems.Count);
        Assert.All(context.Problems, p => Assert.Equal("reviews-vs", p.Key.Name));
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.http[0].match[0].uri.regex:", StringComparison.Ordinal));
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.http[1].match[0].headers.x.regex:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_destination_host_or_subset_is_still_routed_and_the_host_reported()
    {
        var (context, routes) = await Routes("""
              - match: [{uri: {prefix: /ghost}}]
                route: [{destination: {host: ghost.example.com}}]
              - route: [{destination: {host: reviews, subset: no-such-subset}}]
            """);
        Assert.Equal(["outbound|9080||ghost.example.com", $"outbound|9080|no-such-subset|{ReviewsFqdn}"], routes.Select(r => r.Route_.Cluster));
        var problem = Assert.Single(context.Problems);
        Assert.Contains("spec.http[0].route[0].destination.host", problem.Reason, StringComparison.Ordinal);
        Assert.Contains("ghost.example.com", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Source_label_routes_apply_only_to_the_matching_proxy_and_others_fall_back_to_the_default_route()
    {
        const string http = """
              - match: [{sourceLabels: {app: productpage}}]
                route: [{destination: {host: reviews, subset: v2}}]
            """;
        var (_, forProductpage) = await Routes(http, new Dictionary<string, string> { ["app"] = "productpage" });
        Assert.Equal(V2, Assert.Single(forProductpage).Route_.Cluster);
        // No route of the VirtualService applies to this proxy: istiod gives the service its default route.
        var (_, forSleep) = await Routes(http);
        var route = Assert.Single(forSleep);
        Assert.Equal("default", route.Name);
        Assert.Equal($"outbound|9080||{ReviewsFqdn}", route.Route_.Cluster);
    }

    [Fact]
    public async Task A_virtual_service_for_mesh_and_a_gateway_applies_to_sidecars_but_one_for_a_gateway_only_does_not()
    {
        var meshToo = await MeshFixture.LoadAsync(Mesh + ReviewsVs("""
              - route: [{destination: {host: reviews, subset: v2}}]
            """, "  gateways: [mesh, istio-system/ingress]\n"));
        Assert.Equal(V2, Assert.Single(RoutesOf(RouteBuilder.Build(meshToo, Sidecar(), "9080")!, ReviewsHost)).Route_.Cluster);
        var gatewayOnly = await MeshFixture.LoadAsync(Mesh + ReviewsVs("""
              - route: [{destination: {host: reviews, subset: v2}}]
            """, "  gateways: [istio-system/ingress]\n"));
        Assert.Equal("default", Assert.Single(RoutesOf(RouteBuilder.Build(gatewayOnly, Sidecar(), "9080")!, ReviewsHost)).Name);
    }

    [Fact]
    public async Task Virtual_service_hosts_outside_the_registry_get_their_own_virtual_host_next_to_the_services()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: aliases, namespace: bookinfo}
            spec:
              hosts: [reviews, reviews.example.com]
              http: [{route: [{destination: {host: reviews, subset: v1}}]}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: httpbin, namespace: bookinfo}
            spec:
              hosts: [httpbin.org]
              http: [{timeout: 3s, route: [{destination: {host: httpbin.org}}]}]
            """);
        var config = RouteBuilder.Build(context, Sidecar(), "9080")!;
        Assert.Equal(["reviews.example.com"], Host(config, "reviews.example.com:9080").Domains);
        Assert.Equal(V1, Assert.Single(Host(config, "reviews.example.com:9080").Routes).Route_.Cluster);
        Assert.Equal(V1, Assert.Single(Host(config, ReviewsHost).Routes).Route_.Cluster);

        // A ServiceEntry host routed by a VirtualService, on the entry's port.
        var port80 = RouteBuilder.Build(context, Sidecar(), "80")!;
        var route = Assert.Single(Host(port80, "httpbin.org:80").Routes);
        Assert.Equal("outbound|80||httpbin.org", route.Route_.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(3), route.Route_.Timeout.ToTimeSpan());
    }

    [Fact]
    public async Task Of_two_virtual_services_for_one_host_the_first_in_istiod_order_wins_and_export_to_is_honoured()
    {
        static string Vs(string name, string ns, string subset, string exportTo = "") => $$"""

            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: {{name}}, namespace: {{ns}}}
            spec:
              hosts: [reviews.bookinfo.svc.cluster.local]
              {{exportTo}}
              http:
              - route:
                - destination:
                    host: reviews.bookinfo.svc.cluster.local
                    subset: {{subset}}
            """;
        // Public ones in namespace/name order: bookinfo/b before frontend/a.
        var context = await MeshFixture.LoadAsync(Mesh + Vs("b", "bookinfo", "v2") + Vs("a", "frontend", "v3"));
        Assert.Equal(V2, Assert.Single(RoutesOf(RouteBuilder.Build(context, Sidecar(), "9080")!, ReviewsHost)).Route_.Cluster);

        // One private to the proxy's namespace comes first; one exported elsewhere is not seen.
        context = await MeshFixture.LoadAsync(Mesh + Vs("b", "bookinfo", "v2") + Vs("z", "frontend", "v3", "exportTo: [\".\"]")
            + Vs("y", "other", "v4", "exportTo: [\"other\"]"));
        Assert.Equal($"outbound|9080|v3|{ReviewsFqdn}", Assert.Single(RoutesOf(RouteBuilder.Build(context, Sidecar("frontend"), "9080")!, ReviewsHost)).Route_.Cluster);
        Assert.Equal(V2, Assert.Single(RoutesOf(RouteBuilder.Build(context, Sidecar("bookinfo"), "9080")!, ReviewsHost)).Route_.Cluster);
    }

    [Fact]
    public async Task A_wildcard_virtual_service_takes_the_services_it_covers_unless_one_names_them_exactly()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: all-bookinfo, namespace: bookinfo}
            spec:
              hosts: ["*.bookinfo.svc.cluster.local"]
              http: [{timeout: 7s, route: [{destination: {host: reviews}}]}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: ratings, namespace: bookinfo}
            spec:
              hosts: [ratings]
              http: [{timeout: 1s, route: [{destination: {host: ratings}}]}]
            """);
        var config = RouteBuilder.Build(context, Sidecar(), "9080")!;
        Assert.Equal(TimeSpan.FromSeconds(7), Assert.Single(Host(config, ReviewsHost).Routes).Route_.Timeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromSeconds(1), Assert.Single(Host(config, "ratings.bookinfo.svc.cluster.local:9080").Routes).Route_.Timeout.ToTimeSpan());
        Assert.Equal("default", Assert.Single(Host(config, "productpage.frontend.svc.cluster.local:9080").Routes).Name);
    }

    [Fact]
    public async Task A_delegate_virtual_service_replaces_the_root_route_narrowed_by_its_match()
    {
        var context = await MeshFixture.LoadAsync(Mesh + ReviewsVs("""
              - name: api
                match: [{uri: {prefix: /api}}]
                timeout: 4s
                delegate: {name: reviews-api}
              - name: missing
                delegate: {name: nowhere}
              - route: [{destination: {host: reviews, subset: v1}}]
            """) + """

            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-api, namespace: bookinfo}
            spec:
              http:
              - name: v2
                match: [{uri: {prefix: /api/v2}, headers: {x-canary: {exact: "1"}}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - name: outside
                match: [{uri: {prefix: /other}}]
                route: [{destination: {host: reviews, subset: v3}}]
              - route: [{destination: {host: reviews, subset: v1}}]
                timeout: 1s
            """);
        var routes = RoutesOf(RouteBuilder.Build(context, Sidecar(), "9080")!, ReviewsHost);
        // The delegate's /other route is outside the root's /api: dropped. Its catch-all takes the root's match.
        Assert.Equal(["api-v2", "api", ""], routes.Select(r => r.Name));
        Assert.Equal("/api/v2", routes[0].Match.Prefix);
        Assert.Equal("x-canary", Assert.Single(routes[0].Match.Headers).Name);
        Assert.Equal(V2, routes[0].Route_.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(4), routes[0].Route_.Timeout.ToTimeSpan());
        Assert.Equal("/api", routes[1].Match.Prefix);
        Assert.Equal(TimeSpan.FromSeconds(1), routes[1].Route_.Timeout.ToTimeSpan());
        Assert.Equal(V1, routes[2].Route_.Cluster);
        var problem = Assert.Single(context.Problems);
        Assert.Contains("spec.http[1].delegate", problem.Reason, StringComparison.Ordinal);
        Assert.Contains("bookinfo/nowhere", problem.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mesh", "mesh")]
    [InlineData("ingress", "bookinfo/ingress")]
    [InlineData("./ingress", "bookinfo/ingress")]
    [InlineData("istio-system/ingress", "istio-system/ingress")]
    [InlineData("ingress.istio-system.svc.cluster.local", "istio-system/ingress")]
    public void Gateway_references_resolve_as_istiod_resolves_them(string reference, string resolved) =>
        Assert.Equal([resolved], RouteVirtualServices.ResolveGateways([reference], "bookinfo"));
}
