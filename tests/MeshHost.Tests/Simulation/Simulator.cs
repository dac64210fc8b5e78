using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Cache;
using ClusterLoadAssignment = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;

namespace MeshHost.Tests.Simulation;

/// <summary>
/// Runs a <see cref="SimulatedCall"/> through the resources one proxy was served, the way Envoy would pick a
/// listener, a filter chain, a virtual host, a route, a cluster and its endpoints, and reports every choice in a
/// <see cref="SimulationResult"/>. It is how the mesh host's translation is proven without an Envoy binary; the
/// idea (not the code) follows istiod's own pilot/pkg/simulation, and it goes further: header and query matchers,
/// weighted clusters, RBAC, fault aborts and upstream transport sockets.
/// </summary>
/// <remarks>
/// Simplifications, each on purpose: runtime_fraction is ignored (a route with one always matches); RBAC metadata,
/// filter_state and CEL conditions never match; ECDS (config_discovery) filters are skipped; a listener's
/// additional_addresses and the HTTP codec type are not considered; weighted clusters are all resolved (an
/// unknown or empty one is an error, although Envoy would fail only the share of requests it picks).
/// </remarks>
/// <example>
/// <code>
/// var sim = Simulator.For(context, proxy);   // or new Simulator(MeshGenerator.Generate(context, proxy))
/// var result = sim.Run(new SimulatedCall { Address = "10.96.0.20", Port = 9080, Host = "reviews:9080", Path = "/x" });
/// SimulationAssert.Matches(new SimulationExpectation { Cluster = "outbound|9080||reviews.default.svc.cluster.local" }, result);
/// </code>
/// </example>
public sealed partial class Simulator
{
    private const string TlsInspector = "envoy.filters.listener.tls_inspector";
    private const string HttpInspector = "envoy.filters.listener.http_inspector";

    private readonly IReadOnlyList<ListenerProto> _listeners;
    private readonly Dictionary<string, RouteConfiguration> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClusterProto> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClusterLoadAssignment> _endpoints = new(StringComparer.Ordinal);

    /// <summary>A simulator of the resources in <paramref name="snapshot"/> (listeners, route configurations,
    /// clusters and cluster load assignments; other types are ignored).</summary>
    public Simulator(Snapshot snapshot)
        : this(
            Messages<ListenerProto>(snapshot, TypeUrls.Listener),
            Messages<RouteConfiguration>(snapshot, TypeUrls.RouteConfiguration),
            Messages<ClusterProto>(snapshot, TypeUrls.Cluster),
            Messages<ClusterLoadAssignment>(snapshot, TypeUrls.ClusterLoadAssignment))
    {
    }

    /// <summary>A simulator of hand-built resources.</summary>
    public Simulator(IEnumerable<ListenerProto> listeners, IEnumerable<RouteConfiguration>? routes = null,
        IEnumerable<ClusterProto>? clusters = null, IEnumerable<ClusterLoadAssignment>? endpoints = null)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        _listeners = [.. listeners];
        foreach (var route in routes ?? [])
        {
            _routes[route.Name] = route;
        }
        foreach (var cluster in clusters ?? [])
        {
            _clusters[cluster.Name] = cluster;
        }
        foreach (var cla in endpoints ?? [])
        {
            _endpoints[cla.ClusterName] = cla;
        }
    }

    /// <summary>Generates <paramref name="proxy"/>'s configuration with <see cref="MeshGenerator"/> and simulates it.</summary>
    public static Simulator For(PushContext context, Proxy proxy) => new(MeshGenerator.Generate(context, proxy));

    /// <summary>The listeners simulated.</summary>
    public IReadOnlyList<ListenerProto> Listeners => _listeners;

    /// <summary>The route configurations by name.</summary>
    public IReadOnlyDictionary<string, RouteConfiguration> Routes => _routes;

    /// <summary>The clusters by name.</summary>
    public IReadOnlyDictionary<string, ClusterProto> Clusters => _clusters;

    /// <summary>The cluster load assignments by cluster (service) name.</summary>
    public IReadOnlyDictionary<string, ClusterLoadAssignment> Endpoints => _endpoints;

    /// <summary>Runs one call through the configuration.</summary>
    public SimulationResult Run(SimulatedCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var result = new SimulationResult { Call = call };

        var listener = SelectListener(call);
        if (listener is null)
        {
            return result with { Error = "no matching listener" };
        }
        result = result with { Listener = listener.Name };

        var chain = SelectFilterChain(listener, call, out var isDefault, out var chainError);
        if (chain is null)
        {
            return result with { Error = chainError };
        }
        result = result with { FilterChain = chain.Name, DefaultFilterChain = isDefault };

        var downstreamTls = Unpack<DownstreamTlsContext>(chain.TransportSocket?.TypedConfig);
        if (chain.TransportSocket is not null && downstreamTls is null && chain.TransportSocket.Name != "envoy.transport_sockets.raw_buffer")
        {
            return result with { Error = $"unsupported downstream transport socket {chain.TransportSocket.Name}" };
        }
        if (downstreamTls is not null && call.Tls == CallTls.Plaintext)
        {
            return result with { Error = "TLS required: the filter chain terminates TLS but the call is plaintext" };
        }
        if (downstreamTls is not null && downstreamTls.RequireClientCertificate == true && call.Tls != CallTls.Mutual)
        {
            return result with { Error = "mTLS required: the filter chain requires a client certificate" };
        }
        // The peer's identity is known only where this chain terminates mutual TLS.
        var peer = new Peer(
            downstreamTls is not null,
            downstreamTls is not null && call.Tls == CallTls.Mutual && RequestsClientCertificate(downstreamTls) ? call.Principal ?? string.Empty : null);

        foreach (var filter in chain.Filters)
        {
            var config = filter.TypedConfig;
            if (Unpack<NetworkRbac>(config) is { } networkRbac)
            {
                if (networkRbac.Rules is null)
                {
                    continue;
                }
                var decision = RbacEvaluator.Evaluate(filter.Name, networkRbac.Rules, new RbacRequest(call, peer, null));
                result = result with { Rbac = [.. result.Rbac, decision] };
                if (!decision.Allowed)
                {
                    return result with { Error = "RBAC: access denied" };
                }
            }
            else if (Unpack<HttpConnectionManager>(config) is { } hcm)
            {
                result = result with { NetworkFilter = filter.Name };
                if (!call.IsHttp)
                {
                    return result with { Error = "protocol error: TCP sent to an HTTP filter chain" };
                }
                if (downstreamTls is null && call.Tls != CallTls.Plaintext)
                {
                    return result with { Error = "protocol error: TLS sent to a plaintext HTTP filter chain" };
                }
                return RunHttp(result, hcm, call, peer);
            }
            else if (Unpack<TcpProxy>(config) is { } tcp)
            {
                result = result with { NetworkFilter = filter.Name };
                return RunTcp(result, tcp, call);
            }
        }
        return result with { Error = "the filter chain has no http_connection_manager or tcp_proxy" };
    }

    private static IEnumerable<T> Messages<T>(Snapshot snapshot, string typeUrl)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return snapshot.GetResources(typeUrl)?.Sorted.Select(r => (T)r.Message) ?? [];
    }

    private static bool RequestsClientCertificate(DownstreamTlsContext tls)
    {
        var common = tls.CommonTlsContext;
        return tls.RequireClientCertificate == true || (common is not null && (common.ValidationContext is not null
            || common.ValidationContextSdsSecretConfig is not null || common.CombinedValidationContext is not null));
    }

    private SimulationResult RunTcp(SimulationResult result, TcpProxy tcp, SimulatedCall call)
    {
        IReadOnlyList<ClusterTarget> targets = tcp.ClusterSpecifierCase switch
        {
            TcpProxy.ClusterSpecifierOneofCase.Cluster => [ResolveCluster(tcp.Cluster, null, call)],
            TcpProxy.ClusterSpecifierOneofCase.WeightedClusters =>
                [.. tcp.WeightedClusters.Clusters.Select(c => ResolveCluster(c.Name, c.Weight, call))],
            _ => [],
        };
        if (targets.Count == 0)
        {
            return result with { Error = "tcp_proxy names no cluster" };
        }
        result = result with
        {
            Targets = targets,
            Cluster = tcp.ClusterSpecifierCase == TcpProxy.ClusterSpecifierOneofCase.Cluster ? tcp.Cluster : null,
        };
        return result with { Error = UpstreamError(targets) };
    }

    private static string? UpstreamError(IReadOnlyList<ClusterTarget> targets)
    {
        if (targets.FirstOrDefault(t => !t.Found) is { } missing)
        {
            return $"cluster not found: {missing.Name}";
        }
        if (targets.FirstOrDefault(t => t.Endpoints.Count == 0) is { } empty)
        {
            return $"no healthy upstream: {empty.Name} has no endpoints";
        }
        return null;
    }

    private ListenerProto? SelectListener(SimulatedCall call)
    {
        switch (call.Mode)
        {
            case CallMode.Inbound:
                return _listeners.FirstOrDefault(l => l.Name == MeshNames.VirtualInboundListener)
                    ?? _listeners.FirstOrDefault(l => PortOf(l) == MeshNames.VirtualInboundPort);
            case CallMode.Gateway:
                return _listeners.FirstOrDefault(l => AddressOf(l) == call.Address && PortOf(l) == call.Port)
                    ?? _listeners.FirstOrDefault(l => IsWildcard(AddressOf(l)) && PortOf(l) == call.Port);
            default:
                // iptables sends the connection to virtualOutbound; use_original_dst hands it to the listener of the
                // original destination (bind_to_port false ones included), or virtualOutbound keeps it.
                return _listeners.FirstOrDefault(l => AddressOf(l) == call.Address && PortOf(l) == call.Port)
                    ?? _listeners.FirstOrDefault(l => IsWildcard(AddressOf(l)) && PortOf(l) == call.Port)
                    ?? _listeners.FirstOrDefault(l => l.Name == MeshNames.VirtualOutboundListener)
                    ?? _listeners.FirstOrDefault(l => PortOf(l) == MeshNames.VirtualOutboundPort && l.UseOriginalDst == true);
        }
    }

    private static string? AddressOf(ListenerProto listener) => listener.Address?.SocketAddress?.Address;

    private static int PortOf(ListenerProto listener) => (int)(listener.Address?.SocketAddress?.PortValue ?? 0);

    private static bool IsWildcard(string? address) => address is "0.0.0.0" or "::";

    private static bool ListenerFilterActive(ListenerProto listener, string name, int port) =>
        listener.ListenerFilters.Any(f => f.Name == name && (f.FilterDisabled is null || !PredicateHolds(f.FilterDisabled, port)));

    private static bool PredicateHolds(ListenerFilterChainMatchPredicate predicate, int port) => predicate.RuleCase switch
    {
        ListenerFilterChainMatchPredicate.RuleOneofCase.AnyMatch => predicate.AnyMatch,
        ListenerFilterChainMatchPredicate.RuleOneofCase.OrMatch => predicate.OrMatch.Rules.Any(r => PredicateHolds(r, port)),
        ListenerFilterChainMatchPredicate.RuleOneofCase.AndMatch => predicate.AndMatch.Rules.All(r => PredicateHolds(r, port)),
        ListenerFilterChainMatchPredicate.RuleOneofCase.NotMatch => !PredicateHolds(predicate.NotMatch, port),
        ListenerFilterChainMatchPredicate.RuleOneofCase.DestinationPortRange =>
            port >= predicate.DestinationPortRange.Start && port < predicate.DestinationPortRange.End,
        _ => false,
    };

    /// <summary>
    /// Envoy's filter chain search: one criterion after the other (destination port, destination IP, server name,
    /// transport protocol, application protocols, direct source IP, source type, source IP, source port). At each
    /// step, the chains that name a value the connection has and are the most specific (longest prefix, exact
    /// before wildcard SNI, the client's first ALPN) go on; only when none does do the chains that leave the
    /// criterion empty go on. There is no backtracking: a chain that wins on the port but fails on SNI is not
    /// replaced by a port-less chain, which is why an empty match can lose. More than one chain left is a
    /// configuration Envoy rejects.
    /// </summary>
    private static FilterChain? SelectFilterChain(ListenerProto listener, SimulatedCall call, out bool isDefault, out string? error)
    {
        isDefault = false;
        error = null;
        var tlsInspector = ListenerFilterActive(listener, TlsInspector, call.Port);
        var httpInspector = ListenerFilterActive(listener, HttpInspector, call.Port);
        var tls = tlsInspector && call.Tls != CallTls.Plaintext;
        var sni = tls ? call.EffectiveSni : null;
        var transport = tls ? "tls" : "raw_buffer";
        IReadOnlyList<string> alpn = tls
            ? call.EffectiveAlpn
            : httpInspector && call.Tls == CallTls.Plaintext && call.IsHttp
                ? [call.Protocol == CallProtocol.Http ? "http/1.1" : "h2c"]
                : [];
        var loopback = call.SourceAddress == call.Address || call.SourceAddress.StartsWith("127.", StringComparison.Ordinal) || call.SourceAddress == "::1";

        var chains = listener.FilterChains.ToList();
        chains = Narrow(chains, m => m.DestinationPort is null, m => m.DestinationPort == (uint)call.Port ? 0 : -1);
        chains = Narrow(chains, m => m.PrefixRanges.Count == 0, m => Cidr.LongestMatch(m.PrefixRanges, call.Address));
        chains = Narrow(chains, m => m.ServerNames.Count == 0, m => ServerNameScore(m.ServerNames, sni));
        chains = Narrow(chains, m => m.TransportProtocol.Length == 0, m => m.TransportProtocol == transport ? 0 : -1);
        chains = Narrow(chains, m => m.ApplicationProtocols.Count == 0, m => AlpnScore(m.ApplicationProtocols, alpn));
        chains = Narrow(chains, m => m.DirectSourcePrefixRanges.Count == 0, m => Cidr.LongestMatch(m.DirectSourcePrefixRanges, call.SourceAddress));
        chains = Narrow(chains, m => m.SourceType == FilterChainMatch.Types.ConnectionSourceType.Any,
            m => (m.SourceType == FilterChainMatch.Types.ConnectionSourceType.SameIpOrLoopback) == loopback ? 0 : -1);
        chains = Narrow(chains, m => m.SourcePrefixRanges.Count == 0, m => Cidr.LongestMatch(m.SourcePrefixRanges, call.SourceAddress));
        chains = Narrow(chains, m => m.SourcePorts.Count == 0, m => m.SourcePorts.Contains((uint)call.SourcePort) ? 0 : -1);

        if (chains.Count > 1)
        {
            error = "multiple filter chains matched (Envoy rejects such a listener): " + string.Join(", ", chains.Select(c => c.Name));
            return null;
        }
        if (chains.Count == 1)
        {
            return chains[0];
        }
        if (listener.DefaultFilterChain is { } fallback)
        {
            isDefault = true;
            return fallback;
        }
        error = "no filter chain matched";
        return null;
    }

    /// <summary>One step of the search: <paramref name="score"/> is -1 for a chain whose value does not fit, and
    /// higher for a more specific fit.</summary>
    private static List<FilterChain> Narrow(List<FilterChain> chains, Func<FilterChainMatch, bool> unset, Func<FilterChainMatch, int> score)
    {
        var empty = new FilterChainMatch();
        var best = -1;
        var winners = new List<FilterChain>();
        foreach (var chain in chains)
        {
            var match = chain.FilterChainMatch ?? empty;
            if (unset(match))
            {
                continue;
            }
            var s = score(match);
            if (s > best)
            {
                best = s;
                winners.Clear();
            }
            if (s >= 0 && s == best)
            {
                winners.Add(chain);
            }
        }
        return winners.Count > 0 ? winners : chains.Where(c => unset(c.FilterChainMatch ?? empty)).ToList();
    }

    /// <summary>Exact server names win over wildcards (<c>*.example.com</c>), longer wildcards over shorter.</summary>
    private static int ServerNameScore(IEnumerable<string> names, string? sni)
    {
        if (sni is null)
        {
            return -1;
        }
        var best = -1;
        foreach (var name in names)
        {
            if (string.Equals(name, sni, StringComparison.OrdinalIgnoreCase))
            {
                return int.MaxValue;
            }
            if (name.StartsWith("*.", StringComparison.Ordinal) && sni.Length > name.Length - 1
                && sni.EndsWith(name[1..], StringComparison.OrdinalIgnoreCase))
            {
                best = Math.Max(best, name.Length);
            }
        }
        return best;
    }

    /// <summary>Envoy takes the client's protocols in its order and stops at the first that some chain names.</summary>
    private static int AlpnScore(IEnumerable<string> protocols, IReadOnlyList<string> offered)
    {
        var set = protocols.ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < offered.Count; i++)
        {
            if (set.Contains(offered[i]))
            {
                return offered.Count - i;
            }
        }
        return -1;
    }

    private static T? Unpack<T>(Google.Protobuf.WellKnownTypes.Any? any)
        where T : class, Google.Protobuf.IMessage<T>, new()
    {
        var descriptor = new T().Descriptor;
        return any is not null && any.Is(descriptor) ? any.Unpack<T>() : null;
    }
}

/// <summary>The downstream connection's TLS state: whether the chain terminated TLS, and the client certificate's
/// SPIFFE ID (null without one).</summary>
internal sealed record Peer(bool Tls, string? Principal);
