using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Rbac.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Tests.Simulation;
using XdsServer.Cache;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;
using RouteProto = Envoy.Config.Route.V3.Route;

namespace MeshHost.Tests;

/// <summary>The simulator itself, on hand-built Envoy resources: each test pins one of Envoy's matching rules, so the
/// mesh scenarios built on top can trust what it reports.</summary>
public class SimulatorTests
{
    // ---- Listener selection -------------------------------------------------------------------------------------

    [Theory]
    [InlineData("10.0.0.5", 9080, "10.0.0.5_9080")]
    [InlineData("10.0.0.6", 9080, "0.0.0.0_9080")]
    [InlineData("10.0.0.6", 7777, "virtualOutbound")]
    public void An_outbound_call_takes_the_exact_listener_then_the_wildcard_then_virtual_outbound(string address, int port, string listener)
    {
        var sim = new Simulator(
        [
            Listener("virtualOutbound", "0.0.0.0", 15001, TcpChain("passthrough", "PassthroughCluster")),
            Listener("0.0.0.0_9080", "0.0.0.0", 9080, TcpChain("wildcard", "c")),
            Listener("10.0.0.5_9080", "10.0.0.5", 9080, TcpChain("vip", "c")),
        ]);
        var result = sim.Run(new SimulatedCall { Address = address, Port = port, Protocol = CallProtocol.Tcp });
        Assert.True(listener == result.Listener, result.ToString());
    }

    [Fact]
    public void Inbound_calls_enter_virtual_inbound_and_gateway_calls_the_bound_port_only()
    {
        var sim = new Simulator(
        [
            Listener("virtualOutbound", "0.0.0.0", 15001, TcpChain("out", "c")),
            Listener("virtualInbound", "0.0.0.0", 15006, TcpChain("in", "c")),
            Listener("0.0.0.0_8080", "0.0.0.0", 8080, TcpChain("gw", "c")),
        ]);
        Assert.Equal("virtualInbound", sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Protocol = CallProtocol.Tcp }).Listener);
        Assert.Equal("0.0.0.0_8080", sim.Run(new SimulatedCall { Mode = CallMode.Gateway, Port = 8080, Protocol = CallProtocol.Tcp }).Listener);
        var none = sim.Run(new SimulatedCall { Mode = CallMode.Gateway, Port = 9999, Protocol = CallProtocol.Tcp });
        Assert.Null(none.Listener);
        Assert.Equal("no matching listener", none.Error);
    }

    // ---- Filter chain match ---------------------------------------------------------------------------------------

    [Fact]
    public void A_destination_port_chain_wins_and_envoy_does_not_fall_back_when_it_then_fails()
    {
        var listener = Listener("virtualInbound", "0.0.0.0", 15006,
            TcpChain("port-8080-sni", "a", new FilterChainMatch { DestinationPort = 8080, ServerNames = { "a.example.com" } }),
            TcpChain("any", "b", new FilterChainMatch()));
        listener.ListenerFilters.Add(new ListenerFilter { Name = "envoy.filters.listener.tls_inspector" });
        var sim = new Simulator([listener]);

        var other = sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 9090, Protocol = CallProtocol.Tcp });
        Assert.True(other.FilterChain == "any", other.ToString());

        // Port 8080 picks the first chain at the port step; its SNI then fails, and the port-less chain was already
        // discarded: no chain at all.
        var wrongSni = sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Protocol = CallProtocol.Tcp, Tls = CallTls.Simple, Sni = "b.example.com" });
        Assert.True(wrongSni.Error == "no filter chain matched", wrongSni.ToString());
    }

    [Fact]
    public void The_default_filter_chain_takes_what_no_chain_matches()
    {
        var listener = Listener("l", "0.0.0.0", 80, TcpChain("only-443", "a", new FilterChainMatch { DestinationPort = 443 }));
        listener.DefaultFilterChain = TcpChain("fallback", "b");
        var result = new Simulator([listener]).Run(new SimulatedCall { Port = 80, Protocol = CallProtocol.Tcp });
        Assert.Equal("fallback", result.FilterChain);
        Assert.True(result.DefaultFilterChain);
    }

    [Theory]
    [InlineData("10.1.2.3", "slash-24")]
    [InlineData("10.1.9.9", "slash-16")]
    [InlineData("192.168.0.1", "no-prefix")]
    public void The_longest_destination_prefix_wins(string address, string chain)
    {
        var sim = new Simulator([Listener("virtualOutbound", "0.0.0.0", 15001,
            TcpChain("slash-16", "a", new FilterChainMatch { PrefixRanges = { Cidr("10.1.0.0", 16) } }),
            TcpChain("slash-24", "b", new FilterChainMatch { PrefixRanges = { Cidr("10.1.2.0", 24) } }),
            TcpChain("no-prefix", "c"))]);
        var result = sim.Run(new SimulatedCall { Address = address, Port = 5000, Protocol = CallProtocol.Tcp });
        Assert.True(chain == result.FilterChain, result.ToString());
    }

    [Theory]
    [InlineData("api.example.com", "exact")]
    [InlineData("www.api.example.com", "long-wildcard")]
    [InlineData("web.example.com", "short-wildcard")]
    [InlineData("other.org", "no-sni")]
    public void An_exact_server_name_beats_the_longest_wildcard_which_beats_a_shorter_one(string sni, string chain)
    {
        var listener = Listener("0.0.0.0_443", "0.0.0.0", 443,
            TcpChain("short-wildcard", "a", new FilterChainMatch { ServerNames = { "*.example.com" } }),
            TcpChain("long-wildcard", "b", new FilterChainMatch { ServerNames = { "*.api.example.com" } }),
            TcpChain("exact", "c", new FilterChainMatch { ServerNames = { "api.example.com" } }),
            TcpChain("no-sni", "d"));
        listener.ListenerFilters.Add(new ListenerFilter { Name = "envoy.filters.listener.tls_inspector" });
        var result = new Simulator([listener]).Run(new SimulatedCall { Mode = CallMode.Gateway, Port = 443, Protocol = CallProtocol.Tcp, Tls = CallTls.Simple, Sni = sni });
        Assert.True(chain == result.FilterChain, result.ToString());
    }

    [Fact]
    public void Transport_protocol_and_alpn_split_mutual_tls_from_plaintext_like_istio_inbound_chains()
    {
        var listener = Listener("virtualInbound", "0.0.0.0", 15006,
            TcpChain("mtls-http", "h", new FilterChainMatch { DestinationPort = 8080, TransportProtocol = "tls", ApplicationProtocols = { "istio-http/1.0", "istio-http/1.1", "istio-h2" } }),
            TcpChain("mtls-tcp", "t", new FilterChainMatch { DestinationPort = 8080, TransportProtocol = "tls" }),
            TcpChain("plaintext", "p", new FilterChainMatch { DestinationPort = 8080, TransportProtocol = "raw_buffer" }));
        listener.ListenerFilters.Add(new ListenerFilter { Name = "envoy.filters.listener.tls_inspector" });
        var sim = new Simulator([listener]);

        Assert.Equal("mtls-http", sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Protocol = CallProtocol.Tcp, Tls = CallTls.Mutual, Alpn = ["istio-h2"] }).FilterChain);
        Assert.Equal("mtls-tcp", sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Protocol = CallProtocol.Tcp, Tls = CallTls.Mutual }).FilterChain);
        Assert.Equal("plaintext", sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Protocol = CallProtocol.Tcp }).FilterChain);
    }

    [Fact]
    public void Without_a_tls_inspector_a_tls_connection_is_seen_as_raw_buffer()
    {
        var listener = Listener("l", "0.0.0.0", 443,
            TcpChain("tls", "a", new FilterChainMatch { TransportProtocol = "tls" }),
            TcpChain("raw", "b", new FilterChainMatch { TransportProtocol = "raw_buffer" }));
        var result = new Simulator([listener]).Run(new SimulatedCall { Mode = CallMode.Gateway, Port = 443, Protocol = CallProtocol.Tcp, Tls = CallTls.Simple });
        Assert.True(result.FilterChain == "raw", result.ToString());
    }

    [Fact]
    public void A_listener_filter_disabled_for_the_port_does_not_inspect()
    {
        var listener = Listener("l", "0.0.0.0", 443,
            TcpChain("tls", "a", new FilterChainMatch { TransportProtocol = "tls" }),
            TcpChain("raw", "b", new FilterChainMatch { TransportProtocol = "raw_buffer" }));
        listener.ListenerFilters.Add(new ListenerFilter
        {
            Name = "envoy.filters.listener.tls_inspector",
            FilterDisabled = new ListenerFilterChainMatchPredicate { DestinationPortRange = new Envoy.Type.V3.Int32Range { Start = 443, End = 444 } },
        });
        var result = new Simulator([listener]).Run(new SimulatedCall { Mode = CallMode.Gateway, Port = 443, Protocol = CallProtocol.Tcp, Tls = CallTls.Simple });
        Assert.True(result.FilterChain == "raw", result.ToString());
    }

    [Fact]
    public void Two_equally_specific_chains_are_reported_as_a_listener_envoy_would_reject()
    {
        var listener = Listener("l", "0.0.0.0", 80,
            TcpChain("one", "a", new FilterChainMatch { DestinationPort = 80 }),
            TcpChain("two", "b", new FilterChainMatch { DestinationPort = 80 }));
        var result = new Simulator([listener]).Run(new SimulatedCall { Port = 80, Protocol = CallProtocol.Tcp });
        Assert.Contains("multiple filter chains matched", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_http_inspector_lets_a_plaintext_chain_match_on_the_detected_protocol()
    {
        var listener = Listener("virtualOutbound", "0.0.0.0", 15001,
            TcpChain("http1", "a", new FilterChainMatch { ApplicationProtocols = { "http/1.1" } }),
            TcpChain("h2c", "b", new FilterChainMatch { ApplicationProtocols = { "h2c" } }),
            TcpChain("tcp", "c"));
        listener.ListenerFilters.Add(new ListenerFilter { Name = "envoy.filters.listener.http_inspector" });
        var sim = new Simulator([listener]);
        Assert.Equal("http1", sim.Run(new SimulatedCall { Port = 5000, Protocol = CallProtocol.Http }).FilterChain);
        Assert.Equal("h2c", sim.Run(new SimulatedCall { Port = 5000, Protocol = CallProtocol.Grpc }).FilterChain);
        Assert.Equal("tcp", sim.Run(new SimulatedCall { Port = 5000, Protocol = CallProtocol.Tcp }).FilterChain);
    }

    // ---- Downstream TLS and protocol ----------------------------------------------------------------------------

    [Fact]
    public void A_chain_that_terminates_tls_refuses_plaintext_and_a_mutual_chain_refuses_simple_tls()
    {
        var chain = HttpChain("mtls", "r");
        chain.TransportSocket = DownstreamTls(requireClientCertificate: true);
        var sim = new Simulator([Listener("virtualInbound", "0.0.0.0", 15006, chain)], [RouteConfig("r", VirtualHost("vh", ["*"], ToCluster("default", Prefix("/"), "c")))],
            [Static("c", "127.0.0.1:8080")]);

        Assert.Contains("TLS required", sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080 }).Error, StringComparison.Ordinal);
        Assert.Contains("mTLS required", sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Tls = CallTls.Simple }).Error, StringComparison.Ordinal);
        var ok = sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Tls = CallTls.Mutual, Principal = "spiffe://cluster.local/ns/a/sa/b" });
        Assert.True(ok.Error is null && ok.Cluster == "c", ok.ToString());
    }

    [Fact]
    public void Tcp_to_an_http_chain_and_tls_to_a_plaintext_http_chain_are_protocol_errors()
    {
        var sim = new Simulator([Listener("0.0.0.0_80", "0.0.0.0", 80, HttpChain("http", "r"))], [RouteConfig("r", VirtualHost("vh", ["*"], ToCluster("d", Prefix("/"), "c")))],
            [Static("c", "10.0.0.1:80")]);
        Assert.Contains("protocol error", sim.Run(new SimulatedCall { Port = 80, Protocol = CallProtocol.Tcp }).Error, StringComparison.Ordinal);
        Assert.Contains("protocol error", sim.Run(new SimulatedCall { Port = 80, Tls = CallTls.Simple }).Error, StringComparison.Ordinal);
    }

    // ---- Virtual hosts --------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("api.example.com", "exact")]
    [InlineData("API.Example.com", "exact")]
    [InlineData("a.b.example.com", "long-suffix")]
    [InlineData("x.example.com", "short-suffix")]
    [InlineData("example.com", "catch-all")]
    [InlineData("web.internal", "prefix")]
    [InlineData("other.org", "catch-all")]
    [InlineData("api.example.com:8080", "with-port")]
    [InlineData("api.example.com:9090", "short-suffix")]
    public void Virtual_hosts_go_exact_then_longest_suffix_wildcard_then_prefix_wildcard_then_star(string host, string vhost)
    {
        var route = RouteConfig("r",
            VirtualHost("catch-all", ["*"], ToCluster("x", Prefix("/"), "c")),
            VirtualHost("prefix", ["web.*"], ToCluster("x", Prefix("/"), "c")),
            VirtualHost("short-suffix", ["*.example.com", "*.com:9090"], ToCluster("x", Prefix("/"), "c")),
            VirtualHost("long-suffix", ["*.b.example.com"], ToCluster("x", Prefix("/"), "c")),
            VirtualHost("exact", ["api.example.com"], ToCluster("x", Prefix("/"), "c")),
            VirtualHost("with-port", ["api.example.com:8080"], ToCluster("x", Prefix("/"), "c")));
        var result = HttpSim(route).Run(new SimulatedCall { Port = 80, Host = host });
        Assert.True(vhost == result.VirtualHost, result.ToString());
    }

    [Fact]
    public void The_host_port_is_matched_as_given_unless_the_connection_manager_strips_it()
    {
        var route = RouteConfig("r", VirtualHost("exact", ["api.example.com"], ToCluster("x", Prefix("/"), "c")));
        var plain = HttpSim(route).Run(new SimulatedCall { Port = 80, Host = "api.example.com:80" });
        Assert.Equal("no virtual host matched", plain.Error);
        Assert.Equal(404, plain.Status);

        var stripping = HttpSim(route, hcm => hcm.StripAnyHostPort = true).Run(new SimulatedCall { Port = 80, Host = "api.example.com:80" });
        Assert.True(stripping.VirtualHost == "exact", stripping.ToString());
    }

    [Fact]
    public void A_domain_served_twice_in_one_route_configuration_is_reported()
    {
        var route = RouteConfig("r", VirtualHost("a", ["x.com"], ToCluster("x", Prefix("/"), "c")), VirtualHost("b", ["X.com"], ToCluster("x", Prefix("/"), "c")));
        Assert.Contains("twice", HttpSim(route).Run(new SimulatedCall { Port = 80, Host = "x.com" }).Error, StringComparison.Ordinal);
    }

    // ---- Routes ---------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("/api/v1", "exact-path")]
    [InlineData("/api/v1?x=1", "exact-path")]
    [InlineData("/API/v2", "case-insensitive-prefix")]
    [InlineData("/items/42", "regex")]
    [InlineData("/items/abc", "fallback")]
    [InlineData("/static", "separated")]
    [InlineData("/static/app.js", "separated")]
    [InlineData("/staticfile", "fallback")]
    public void The_first_route_whose_path_matches_wins(string path, string route)
    {
        var config = RouteConfig("r", VirtualHost("vh", ["*"],
            ToCluster("exact-path", new RouteMatch { Path = "/api/v1" }, "c"),
            ToCluster("case-insensitive-prefix", new RouteMatch { Prefix = "/api/", CaseSensitive = false }, "c"),
            ToCluster("regex", new RouteMatch { SafeRegex = new RegexMatcher { Regex = "/items/[0-9]+" } }, "c"),
            ToCluster("separated", new RouteMatch { PathSeparatedPrefix = "/static" }, "c"),
            ToCluster("fallback", Prefix("/"), "c")));
        var result = HttpSim(config).Run(new SimulatedCall { Port = 80, Path = path });
        Assert.True(route == result.Route, result.ToString());
    }

    [Theory]
    [InlineData(null, "fallback")]          // missing header: an inverted exact match does not hold (Envoy)
    [InlineData("jason", "fallback")]       // the inverted match fails on the excluded value
    [InlineData("mary", "not-jason")]       // any other value holds
    public void An_inverted_header_match_needs_the_header_present_unless_missing_counts_as_empty(string? user, string route)
    {
        var config = RouteConfig("r", VirtualHost("vh", ["*"],
            ToCluster("not-jason", new RouteMatch { Prefix = "/", Headers = { new HeaderMatcher { Name = "end-user", StringMatch = new StringMatcher { Exact = "jason" }, InvertMatch = true } } }, "c"),
            ToCluster("fallback", Prefix("/"), "c")));
        var headers = user is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["End-User"] = user };
        var result = HttpSim(config).Run(new SimulatedCall { Port = 80, Headers = headers });
        Assert.True(route == result.Route, result.ToString());

        config.VirtualHosts[0].Routes[0].Match.Headers[0].TreatMissingHeaderAsEmpty = true;
        var missing = HttpSim(config).Run(new SimulatedCall { Port = 80 });
        Assert.True(missing.Route == "not-jason", missing.ToString());
    }

    [Fact]
    public void Header_and_query_matchers_all_have_to_hold_and_pseudo_headers_are_visible()
    {
        var config = RouteConfig("r", VirtualHost("vh", ["*"],
            ToCluster("post-v2", new RouteMatch
            {
                Prefix = "/",
                Headers =
                {
                    new HeaderMatcher { Name = ":method", StringMatch = new StringMatcher { Exact = "POST" } },
                    new HeaderMatcher { Name = "x-version", StringMatch = new StringMatcher { Prefix = "v2" } },
                    new HeaderMatcher { Name = "x-debug", PresentMatch = false },
                },
                QueryParameters = { new QueryParameterMatcher { Name = "canary", StringMatch = new StringMatcher { Exact = "yes" } } },
            }, "c"),
            ToCluster("fallback", Prefix("/"), "c")));
        var sim = HttpSim(config);
        var all = new Dictionary<string, string> { ["x-version"] = "v2.1" };
        Assert.Equal("post-v2", sim.Run(new SimulatedCall { Port = 80, Method = "POST", Path = "/a?canary=yes", Headers = all }).Route);
        Assert.Equal("fallback", sim.Run(new SimulatedCall { Port = 80, Method = "GET", Path = "/a?canary=yes", Headers = all }).Route);
        Assert.Equal("fallback", sim.Run(new SimulatedCall { Port = 80, Method = "POST", Path = "/a?canary=no", Headers = all }).Route);
        Assert.Equal("fallback", sim.Run(new SimulatedCall { Port = 80, Method = "POST", Path = "/a?canary=yes", Headers = new Dictionary<string, string> { ["x-version"] = "v2", ["x-debug"] = "1" } }).Route);
    }

    [Fact]
    public void No_route_is_a_404_and_an_unknown_cluster_a_503()
    {
        var config = RouteConfig("r", VirtualHost("vh", ["*"], ToCluster("only-api", Prefix("/api"), "missing")));
        var sim = HttpSim(config);

        var noRoute = sim.Run(new SimulatedCall { Port = 80, Path = "/web" });
        Assert.Equal("no route matched", noRoute.Error);
        Assert.Equal(404, noRoute.Status);

        var noCluster = sim.Run(new SimulatedCall { Port = 80, Path = "/api/x" });
        Assert.Equal("cluster not found: missing", noCluster.Error);
        Assert.Equal(503, noCluster.Status);
        Assert.Equal("only-api", noCluster.Route);
    }

    [Fact]
    public void Weighted_clusters_report_each_destination_with_its_weight_and_endpoints()
    {
        var route = new RouteProto
        {
            Name = "split",
            Match = Prefix("/"),
            Route_ = new RouteAction
            {
                WeightedClusters = new WeightedCluster
                {
                    Clusters =
                    {
                        new WeightedCluster.Types.ClusterWeight { Name = "v1", Weight = 90 },
                        new WeightedCluster.Types.ClusterWeight { Name = "v2", Weight = 10 },
                    },
                },
            },
        };
        var sim = HttpSim(RouteConfig("r", VirtualHost("vh", ["*"], route)), clusters: [Eds("v1"), Eds("v2")],
            endpoints: [Cla("v1", "10.0.0.1:9080"), Cla("v2", "10.0.0.2:9080", "10.0.0.3:9080")]);
        var result = sim.Run(new SimulatedCall { Port = 80 });
        Assert.Null(result.Cluster);
        SimulationAssert.Matches(new SimulationExpectation { Route = "split", WeightedClusters = new Dictionary<string, uint> { ["v1"] = 90, ["v2"] = 10 } }, result);
        Assert.Equal(["10.0.0.2:9080", "10.0.0.3:9080"], result.Targets.Single(t => t.Name == "v2").Endpoints.Select(e => e.HostPort));
    }

    [Fact]
    public void Direct_responses_redirects_and_tls_requirements_answer_without_a_cluster()
    {
        var config = RouteConfig("r",
            VirtualHost("vh", ["*"],
                new RouteProto { Name = "blocked", Match = Prefix("/blocked"), DirectResponse = new DirectResponseAction { Status = 502 } },
                new RouteProto
                {
                    Name = "moved",
                    Match = Prefix("/old"),
                    Redirect = new RedirectAction { HostRedirect = "new.example.com", PrefixRewrite = "/new", ResponseCode = RedirectAction.Types.RedirectResponseCode.PermanentRedirect },
                }),
            VirtualHost("secure", ["secure.example.com"], ToCluster("x", Prefix("/"), "c")));
        config.VirtualHosts[1].RequireTls = Envoy.Config.Route.V3.VirtualHost.Types.TlsRequirementType.All;
        var sim = HttpSim(config);

        var blocked = sim.Run(new SimulatedCall { Port = 80, Path = "/blocked" });
        Assert.True(blocked is { DirectResponseStatus: 502, Status: 502, Error: null, Cluster: null }, blocked.ToString());

        var moved = sim.Run(new SimulatedCall { Port = 80, Host = "old.example.com", Path = "/old/page?q=1" });
        Assert.Equal(308, moved.RedirectStatus);
        Assert.Equal("http://new.example.com/new/page?q=1", moved.Redirect);

        var secure = sim.Run(new SimulatedCall { Port = 80, Host = "secure.example.com", Path = "/x" });
        Assert.Equal(301, secure.Status);
        Assert.Equal("https://secure.example.com/x", secure.Redirect);
    }

    [Theory]
    [InlineData(100u, 503)]
    [InlineData(50u, null)]
    public void A_fault_abort_counts_only_at_one_hundred_percent(uint percent, int? status)
    {
        var route = ToCluster("faulty", Prefix("/"), "c");
        route.TypedPerFilterConfig["envoy.filters.http.fault"] = Any.Pack(new HTTPFault
        {
            Abort = new FaultAbort { HttpStatus = 503, Percentage = new Envoy.Type.V3.FractionalPercent { Numerator = percent } },
        });
        var sim = HttpSim(RouteConfig("r", VirtualHost("vh", ["*"], route)),
            filters: [new HttpFilter { Name = "envoy.filters.http.fault", TypedConfig = Any.Pack(new HTTPFault()) }]);
        var result = sim.Run(new SimulatedCall { Port = 80 });
        Assert.True(result.FaultAbortStatus == status, result.ToString());
        Assert.Equal(status is null ? "c" : null, result.Error is null ? result.Cluster : null);
    }

    // ---- RBAC -----------------------------------------------------------------------------------------------------

    [Fact]
    public void A_deny_policy_that_matches_stops_the_request_with_403_and_names_the_policy()
    {
        var deny = new RBAC { Action = RBAC.Types.Action.Deny };
        deny.Policies["ns[foo]-policy[no-admin]-rule[0]"] = new Policy
        {
            Permissions = { new Permission { UrlPath = new PathMatcher { Path = new StringMatcher { Prefix = "/admin" } } } },
            Principals = { new Principal { Any = true } },
        };
        var sim = InboundRbacSim(deny);

        var denied = sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Path = "/admin/users", Tls = CallTls.Mutual, Principal = "spiffe://cluster.local/ns/foo/sa/x" });
        Assert.True(denied is { Error: "RBAC: access denied", Status: 403 }, denied.ToString());
        Assert.Equal("ns[foo]-policy[no-admin]-rule[0]", denied.Rbac.Single().Policy);

        var allowed = sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Path = "/public", Tls = CallTls.Mutual, Principal = "spiffe://cluster.local/ns/foo/sa/x" });
        Assert.True(allowed.RbacAllowed && allowed.Error is null && allowed.Cluster == "inbound|8080||", allowed.ToString());
    }

    [Fact]
    public void An_allow_policy_on_the_source_namespace_needs_a_mutual_tls_principal()
    {
        var allow = new RBAC { Action = RBAC.Types.Action.Allow };
        allow.Policies["ns[foo]-policy[from-bar]-rule[0]"] = new Policy
        {
            Permissions = { new Permission { Header = new HeaderMatcher { Name = ":method", StringMatch = new StringMatcher { Exact = "GET" } } } },
            Principals = { new Principal { Authenticated = new Principal.Types.Authenticated { PrincipalName = new StringMatcher { SafeRegex = new RegexMatcher { Regex = ".*/ns/bar/.*" } } } } },
        };
        var sim = InboundRbacSim(allow, permissive: true);

        Assert.True(sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Tls = CallTls.Mutual, Principal = "spiffe://cluster.local/ns/bar/sa/client" }).RbacAllowed);
        Assert.False(sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Tls = CallTls.Mutual, Principal = "spiffe://cluster.local/ns/baz/sa/client" }).RbacAllowed);
        Assert.False(sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080, Tls = CallTls.Mutual, Principal = "spiffe://cluster.local/ns/bar/sa/client", Method = "DELETE" }).RbacAllowed);
        var plaintext = sim.Run(new SimulatedCall { Mode = CallMode.Inbound, Port = 8080 });
        Assert.True(plaintext is { RbacAllowed: false, Status: 403 }, plaintext.ToString());
    }

    [Fact]
    public void A_network_rbac_filter_guards_a_tcp_chain()
    {
        var deny = new RBAC { Action = RBAC.Types.Action.Deny };
        deny.Policies["deny-3306"] = new Policy { Permissions = { new Permission { DestinationPort = 3306 } }, Principals = { new Principal { Any = true } } };
        var chain = TcpChain("tcp", "PassthroughCluster");
        chain.Filters.Insert(0, new Filter { Name = "envoy.filters.network.rbac", TypedConfig = Any.Pack(new NetworkRbac { Rules = deny, StatPrefix = "tcp." }) });
        var sim = new Simulator([Listener("virtualOutbound", "0.0.0.0", 15001, chain)], clusters: [OriginalDst("PassthroughCluster")]);

        var blocked = sim.Run(new SimulatedCall { Address = "10.9.9.9", Port = 3306, Protocol = CallProtocol.Tcp });
        Assert.Equal("RBAC: access denied", blocked.Error);
        var open = sim.Run(new SimulatedCall { Address = "10.9.9.9", Port = 5432, Protocol = CallProtocol.Tcp });
        Assert.True(open.Error is null, open.ToString());
        Assert.Equal(["10.9.9.9:5432"], open.Endpoints.Select(e => e.HostPort));
    }

    // ---- Clusters, endpoints, upstream TLS ------------------------------------------------------------------------

    [Fact]
    public void The_transport_socket_match_of_each_endpoint_decides_mutual_tls_or_plaintext()
    {
        var cluster = Eds("outbound|9080||reviews.default.svc.cluster.local");
        cluster.EdsClusterConfig.ServiceName = "outbound|9080||reviews.default.svc.cluster.local";
        var tlsMode = new Struct();
        tlsMode.Fields["tlsMode"] = Value.ForString("istio");
        cluster.TransportSocketMatches.Add(new ClusterProto.Types.TransportSocketMatch
        {
            Name = "tlsMode-istio",
            Match = tlsMode,
            TransportSocket = UpstreamTls("outbound_.9080_._.reviews.default.svc.cluster.local", mutual: true),
        });
        cluster.TransportSocketMatches.Add(new ClusterProto.Types.TransportSocketMatch
        {
            Name = "tlsMode-disabled",
            Match = new Struct(),
            TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.raw_buffer", TypedConfig = Any.Pack(new Envoy.Extensions.TransportSockets.RawBuffer.V3.RawBuffer()) },
        });
        var cla = Cla(cluster.Name, "10.0.0.1:9080", "10.0.0.2:9080");
        var meta = new Metadata();
        meta.FilterMetadata[Simulator.TransportSocketMatchMetadata] = tlsMode;
        cla.Endpoints[0].LbEndpoints[0].Metadata = meta;

        var sim = HttpSim(RouteConfig("r", VirtualHost("vh", ["*"], ToCluster("d", Prefix("/"), cluster.Name))), clusters: [cluster], endpoints: [cla]);
        var result = sim.Run(new SimulatedCall { Port = 80 });
        Assert.True(result.Error is null, result.ToString());
        var sidecar = result.Endpoints.Single(e => e.Address == "10.0.0.1").Transport;
        Assert.True(sidecar.IsMutualTls, result.ToString());
        Assert.Equal("outbound_.9080_._.reviews.default.svc.cluster.local", sidecar.Sni);
        Assert.Equal("tlsMode-istio", sidecar.MatchName);
        var plain = result.Endpoints.Single(e => e.Address == "10.0.0.2").Transport;
        Assert.Equal("plaintext", plain.Kind);
        Assert.Equal("tlsMode-disabled", plain.MatchName);
    }

    [Fact]
    public void Without_matches_the_cluster_transport_socket_applies_and_an_empty_cluster_has_no_healthy_upstream()
    {
        var cluster = Eds("c");
        cluster.TransportSocket = UpstreamTls("api.example.com", mutual: false);
        var sim = HttpSim(RouteConfig("r", VirtualHost("vh", ["*"], ToCluster("e", Prefix("/empty"), "empty"), ToCluster("d", Prefix("/"), "c"))),
            clusters: [cluster, Eds("empty")], endpoints: [Cla("c", "1.2.3.4:443")]);
        SimulationAssert.Matches(new SimulationExpectation { Cluster = "c", Endpoints = ["1.2.3.4:443"], UpstreamTransport = "tls", UpstreamSni = "api.example.com" },
            sim.Run(new SimulatedCall { Port = 80, Path = "/x" }));
        SimulationAssert.Matches(new SimulationExpectation { Cluster = "empty", Status = 503, Error = "no healthy upstream" },
            sim.Run(new SimulatedCall { Port = 80, Path = "/empty" }));
    }

    [Fact]
    public void A_tcp_proxy_splits_by_weight()
    {
        var tcp = new TcpProxy
        {
            StatPrefix = "t",
            WeightedClusters = new TcpProxy.Types.WeightedCluster
            {
                Clusters = { new TcpProxy.Types.WeightedCluster.Types.ClusterWeight { Name = "a", Weight = 75 }, new TcpProxy.Types.WeightedCluster.Types.ClusterWeight { Name = "b", Weight = 25 } },
            },
        };
        var chain = new FilterChain { Name = "split", Filters = { new Filter { Name = "envoy.filters.network.tcp_proxy", TypedConfig = Any.Pack(tcp) } } };
        var sim = new Simulator([Listener("10.0.0.9_3306", "10.0.0.9", 3306, chain)], clusters: [Static("a", "10.1.0.1:3306"), Static("b", "10.1.0.2:3306")]);
        var result = sim.Run(new SimulatedCall { Address = "10.0.0.9", Port = 3306, Protocol = CallProtocol.Tcp });
        SimulationAssert.Matches(new SimulationExpectation
        {
            Listener = "10.0.0.9_3306",
            NetworkFilter = "envoy.filters.network.tcp_proxy",
            WeightedClusters = new Dictionary<string, uint> { ["a"] = 75, ["b"] = 25 },
        }, result);
    }

    // ---- Building from a snapshot, and expectations ---------------------------------------------------------------

    [Fact]
    public void A_simulator_is_built_from_a_snapshot_in_one_line()
    {
        var snapshot = Snapshot.CreateBuilder()
            .Include(TypeUrls.Cluster).Include(TypeUrls.ClusterLoadAssignment).Include(TypeUrls.Listener).Include(TypeUrls.RouteConfiguration)
            .Add([Listener("0.0.0.0_80", "0.0.0.0", 80, HttpChain("http", "80"))])
            .Add([RouteConfig("80", VirtualHost("svc:80", ["svc.ns.svc.cluster.local", "svc"], ToCluster("default", Prefix("/"), "outbound|80||svc.ns.svc.cluster.local")))])
            .Add([Eds("outbound|80||svc.ns.svc.cluster.local")])
            .Add([Cla("outbound|80||svc.ns.svc.cluster.local", "10.2.0.1:8080")])
            .Build();
        var result = new Simulator(snapshot).Run(new SimulatedCall { Address = "10.96.0.10", Port = 80, Host = "svc" });
        SimulationAssert.Matches(new SimulationExpectation
        {
            Listener = "0.0.0.0_80",
            RouteConfig = "80",
            VirtualHost = "svc:80",
            Route = "default",
            Cluster = "outbound|80||svc.ns.svc.cluster.local",
            Endpoints = ["10.2.0.1:8080"],
            UpstreamTransport = "plaintext",
        }, result);
    }

    [Fact]
    public void A_failed_expectation_names_each_difference_and_shows_the_trace()
    {
        var result = HttpSim(RouteConfig("r", VirtualHost("vh", ["*"], ToCluster("d", Prefix("/"), "c")))).Run(new SimulatedCall { Port = 80 });
        var problems = new SimulationExpectation { Cluster = "other", Status = 404 }.Mismatches(result);
        Assert.Equal(["cluster: want other, got c", "status: want 404, got (none)"], problems);
        var failure = Assert.ThrowsAny<Exception>(() => SimulationAssert.Matches(new SimulationExpectation { Cluster = "other" }, result));
        Assert.Contains("virtual host: vh", failure.Message, StringComparison.Ordinal);
    }

    // ---- Builders -------------------------------------------------------------------------------------------------

    private static ListenerProto Listener(string name, string address, int port, params FilterChain[] chains)
    {
        var listener = new ListenerProto
        {
            Name = name,
            Address = new Address { SocketAddress = new SocketAddress { Address = address, PortValue = (uint)port } },
        };
        listener.FilterChains.Add(chains);
        return listener;
    }

    private static FilterChain TcpChain(string name, string cluster, FilterChainMatch? match = null) => new()
    {
        Name = name,
        FilterChainMatch = match,
        Filters = { new Filter { Name = "envoy.filters.network.tcp_proxy", TypedConfig = Any.Pack(new TcpProxy { StatPrefix = cluster, Cluster = cluster }) } },
    };

    private static FilterChain HttpChain(string name, string routeName, FilterChainMatch? match = null, IEnumerable<HttpFilter>? filters = null,
        Action<HttpConnectionManager>? configure = null)
    {
        var hcm = new HttpConnectionManager { StatPrefix = name, Rds = new Rds { RouteConfigName = routeName } };
        hcm.HttpFilters.Add(filters ?? []);
        hcm.HttpFilters.Add(new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) });
        configure?.Invoke(hcm);
        return new FilterChain
        {
            Name = name,
            FilterChainMatch = match,
            Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) } },
        };
    }

    /// <summary>One 0.0.0.0:80 HTTP listener on <paramref name="route"/>, with a static cluster <c>c</c> unless others
    /// are given.</summary>
    private static Simulator HttpSim(RouteConfiguration route, Action<HttpConnectionManager>? configure = null, IEnumerable<ClusterProto>? clusters = null,
        IEnumerable<ClusterLoadAssignment>? endpoints = null, IEnumerable<HttpFilter>? filters = null) =>
        new([Listener("0.0.0.0_80", "0.0.0.0", 80, HttpChain("http", route.Name, filters: filters, configure: configure))], [route],
            clusters ?? [Static("c", "10.0.0.1:80")], endpoints);

    /// <summary>A virtualInbound whose 8080 chain (mutual TLS, or either when <paramref name="permissive"/>) runs
    /// <paramref name="rules"/> before routing to <c>inbound|8080||</c>.</summary>
    private static Simulator InboundRbacSim(RBAC rules, bool permissive = false)
    {
        HttpFilter[] rbac = [new HttpFilter { Name = "envoy.filters.http.rbac", TypedConfig = Any.Pack(new HttpRbac { Rules = rules }) }];
        var mtls = HttpChain("0.0.0.0_8080", "inbound|8080||", new FilterChainMatch { DestinationPort = 8080, TransportProtocol = "tls" }, rbac);
        mtls.TransportSocket = DownstreamTls(requireClientCertificate: true);
        var chains = new List<FilterChain> { mtls };
        if (permissive)
        {
            chains.Add(HttpChain("0.0.0.0_8080-plaintext", "inbound|8080||", new FilterChainMatch { DestinationPort = 8080, TransportProtocol = "raw_buffer" }, rbac));
        }
        var listener = Listener("virtualInbound", "0.0.0.0", 15006, [.. chains]);
        listener.ListenerFilters.Add(new ListenerFilter { Name = "envoy.filters.listener.tls_inspector" });
        return new Simulator([listener], [RouteConfig("inbound|8080||", VirtualHost("inbound|http|8080", ["*"], ToCluster("default", Prefix("/"), "inbound|8080||")))],
            [OriginalDst("inbound|8080||")]);
    }

    private static TransportSocket DownstreamTls(bool requireClientCertificate) => new()
    {
        Name = "envoy.transport_sockets.tls",
        TypedConfig = Any.Pack(new DownstreamTlsContext
        {
            RequireClientCertificate = requireClientCertificate,
            CommonTlsContext = new CommonTlsContext
            {
                TlsCertificateSdsSecretConfigs = { new SdsSecretConfig { Name = "default" } },
                ValidationContextSdsSecretConfig = new SdsSecretConfig { Name = "ROOTCA" },
            },
        }),
    };

    private static TransportSocket UpstreamTls(string sni, bool mutual)
    {
        var common = new CommonTlsContext { AlpnProtocols = { "istio-peer-exchange", "istio" } };
        if (mutual)
        {
            common.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig { Name = "default" });
        }
        return new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(new UpstreamTlsContext { Sni = sni, CommonTlsContext = common }) };
    }

    private static RouteConfiguration RouteConfig(string name, params VirtualHost[] vhosts)
    {
        var config = new RouteConfiguration { Name = name };
        config.VirtualHosts.Add(vhosts);
        return config;
    }

    private static VirtualHost VirtualHost(string name, string[] domains, params RouteProto[] routes)
    {
        var vhost = new VirtualHost { Name = name };
        vhost.Domains.Add(domains);
        vhost.Routes.Add(routes);
        return vhost;
    }

    private static RouteMatch Prefix(string prefix) => new() { Prefix = prefix };

    private static RouteProto ToCluster(string name, RouteMatch match, string cluster) =>
        new() { Name = name, Match = match, Route_ = new RouteAction { Cluster = cluster } };

    private static CidrRange Cidr(string address, uint length) => new() { AddressPrefix = address, PrefixLen = length };

    private static ClusterProto Eds(string name) => new()
    {
        Name = name,
        Type = ClusterProto.Types.DiscoveryType.Eds,
        EdsClusterConfig = new ClusterProto.Types.EdsClusterConfig { EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } },
    };

    private static ClusterProto Static(string name, params string[] endpoints) => new()
    {
        Name = name,
        Type = ClusterProto.Types.DiscoveryType.Static,
        LoadAssignment = Cla(name, endpoints),
    };

    private static ClusterProto OriginalDst(string name) => new()
    {
        Name = name,
        Type = ClusterProto.Types.DiscoveryType.OriginalDst,
        LbPolicy = ClusterProto.Types.LbPolicy.ClusterProvided,
    };

    private static ClusterLoadAssignment Cla(string name, params string[] endpoints)
    {
        var locality = new LocalityLbEndpoints();
        foreach (var hostPort in endpoints)
        {
            var colon = hostPort.LastIndexOf(':');
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Envoy.Config.Endpoint.V3.Endpoint
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = hostPort[..colon], PortValue = uint.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture) } },
                },
            });
        }
        return new ClusterLoadAssignment { ClusterName = name, Endpoints = { locality } };
    }
}
