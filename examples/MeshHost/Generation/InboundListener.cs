using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Model;
using XdsServer.Discovery;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteProto = Envoy.Config.Route.V3.Route;

namespace MeshHost.Generation;

/// <summary>
/// A sidecar's <c>virtualInbound</c> listener (0.0.0.0:15006) as istiod builds it
/// (pilot/pkg/networking/core/listener_inbound.go and filterchain_options.go in istio, read for the facts only):
/// a blackhole chain for traffic sent to 15006 itself, the passthrough chains (<c>virtualInbound</c>,
/// <c>virtualInbound-catchall-http</c>) to <c>InboundPassthroughCluster</c> for ports no service declares, and per
/// served target port the chains <c>0.0.0.0_&lt;targetPort&gt;</c> matching <c>destination_port</c>, one per
/// (mTLS, plaintext) variant the port's PeerAuthentication mode allows. Listener filters: original_dst, then the TLS
/// and HTTP inspectors, enabled only on the ports whose chains need them.
/// </summary>
public static class InboundListener
{
    /// <summary>istiod's name of the passthrough HTTP chains.</summary>
    public const string CatchAllHttpChain = "virtualInbound-catchall-http";

    /// <summary>istiod's name of the chain that drops traffic addressed to 15006 itself.</summary>
    public const string BlackholeChain = "virtualInbound-blackhole";

    private static readonly string[] PlaintextHttpAlpns = ["http/1.1", "h2c"];
    private static readonly string[] MutualTlsHttpAlpns = ["istio-http/1.0", "istio-http/1.1", "istio-h2"];
    private static readonly string[] AllIstioAlpns = ["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"];
    private static readonly string[] MutualTlsTcpAlpns = ["istio-peer-exchange", "istio"];

    private enum ChainProtocol
    {
        Http,
        Tcp,
        Auto,
    }

    /// <summary>One filter chain variant: what it matches and whether it terminates mutual TLS.</summary>
    private sealed record MatchOption(bool Http, string TransportProtocol, string[] Alpns, bool Tls);

    /// <summary>One served port: the first service (in registry order) whose port targets it wins, as istiod's
    /// oldest service does.</summary>
    private sealed record ChainConfig(int TargetPort, int ServicePort, string Hostname, bool Http, bool Passthrough);

    /// <summary>The virtualInbound listener of <paramref name="proxy"/>.</summary>
    public static ListenerProto Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var mtls = AuthnPolicy.For(context, proxy);
        var configs = ChainConfigs(context, proxy);

        var chains = new List<FilterChain> { Blackhole() };
        var passthroughModes = new List<(int Port, MtlsMode Mode)> { (0, mtls.Mode) };
        foreach (var (port, mode) in mtls.PortModes.OrderBy(p => p.Key))
        {
            // Port-level modes also shape the passthrough chains (istiod's ForPassthrough), except on ports a
            // service chain already matches, where they would duplicate its filter chain match.
            if (!configs.Any(c => c.TargetPort == port))
            {
                passthroughModes.Add((port, mode));
            }
        }
        foreach (var (port, mode) in passthroughModes)
        {
            var cc = new ChainConfig(port, 0, string.Empty, Http: false, Passthrough: true);
            chains.AddRange(Chains(context, proxy, cc, Options(mode, ChainProtocol.Auto)));
        }
        foreach (var cc in configs)
        {
            chains.AddRange(Chains(context, proxy, cc, Options(mtls.ForPort(cc.TargetPort), cc.Http ? ChainProtocol.Http : ChainProtocol.Tcp)));
        }

        var listener = new ListenerProto
        {
            Name = MeshNames.VirtualInboundListener,
            Address = ListenerParts.TcpAddress(ListenerParts.WildcardAddress, MeshNames.VirtualInboundPort),
            TrafficDirection = TrafficDirection.Inbound,
            ContinueOnListenerFiltersTimeout = true,
            // MeshConfig protocolDetectionTimeout defaults to 0s (no timeout) in istiod.
            ListenerFiltersTimeout = new Duration(),
        };
        listener.FilterChains.AddRange(chains);
        listener.ListenerFilters.Add(ListenerParts.OriginalDstFilter());
        listener.ListenerFilters.AddRange(Inspectors(chains));
        return listener;
    }

    /// <summary>Whether a service port's protocol is served by an HTTP connection manager.</summary>
    public static bool IsHttp(ServicePortProtocol protocol) =>
        protocol is ServicePortProtocol.Http or ServicePortProtocol.Http2 or ServicePortProtocol.Grpc or ServicePortProtocol.GrpcWeb;

    private static List<ChainConfig> ChainConfigs(PushContext context, Proxy proxy)
    {
        var byPort = new Dictionary<int, (ChainConfig Config, DiscoveredService Service, ServicePort Port)>();
        foreach (var target in context.ServiceTargets(proxy))
        {
            if (target.Port.Protocol == ServicePortProtocol.Udp)
            {
                continue;
            }
            var cc = new ChainConfig(target.TargetPort, target.Port.Port, target.Service.Hostname, IsHttp(target.Port.Protocol), Passthrough: false);
            if (byPort.TryGetValue(target.TargetPort, out var existing))
            {
                // istiod keeps the first (oldest) service's chain; a different protocol from another service is a
                // real conflict it reports.
                if (existing.Config.Http != cc.Http && existing.Service.Hostname != target.Service.Hostname)
                {
                    context.Report(target.Service.Key, string.Create(CultureInfo.InvariantCulture,
                        $"spec.ports[{target.Port.Name}]: target port {target.TargetPort} is already served as {(existing.Config.Http ? "HTTP" : "TCP")} for {existing.Service.Hostname}; its inbound chain follows that service"));
                }
                continue;
            }
            byPort[target.TargetPort] = (cc, target.Service, target.Port);
        }
        return [.. byPort.Values.Select(v => v.Config).OrderBy(c => c.TargetPort)];
    }

    /// <summary>istiod's filter chain match options per mTLS mode and protocol.</summary>
    private static MatchOption[] Options(MtlsMode mode, ChainProtocol protocol) => (protocol, mode) switch
    {
        (ChainProtocol.Http, MtlsMode.Strict) => [new(true, ListenerParts.TlsTransportProtocol, [], true)],
        (ChainProtocol.Http, MtlsMode.Permissive) =>
        [
            new(true, ListenerParts.TlsTransportProtocol, AllIstioAlpns, true),
            new(true, ListenerParts.RawBufferTransportProtocol, [], false),
        ],
        (ChainProtocol.Http, _) => [new(true, ListenerParts.RawBufferTransportProtocol, [], false)],
        (ChainProtocol.Tcp, MtlsMode.Strict) => [new(false, ListenerParts.TlsTransportProtocol, [], true)],
        (ChainProtocol.Tcp, MtlsMode.Permissive) =>
        [
            new(false, ListenerParts.TlsTransportProtocol, AllIstioAlpns, true),
            new(false, ListenerParts.RawBufferTransportProtocol, [], false),
            // TLS that is not Istio's (an application's own HTTPS): passed through as TCP.
            new(false, ListenerParts.TlsTransportProtocol, [], false),
        ],
        (ChainProtocol.Tcp, _) => [new(false, ListenerParts.RawBufferTransportProtocol, [], false)],
        (_, MtlsMode.Strict) =>
        [
            new(true, ListenerParts.TlsTransportProtocol, MutualTlsHttpAlpns, true),
            new(false, ListenerParts.TlsTransportProtocol, [], true),
        ],
        (_, MtlsMode.Permissive) =>
        [
            new(true, ListenerParts.TlsTransportProtocol, MutualTlsHttpAlpns, true),
            new(true, ListenerParts.RawBufferTransportProtocol, PlaintextHttpAlpns, false),
            new(false, ListenerParts.TlsTransportProtocol, MutualTlsTcpAlpns, true),
            new(false, ListenerParts.RawBufferTransportProtocol, [], false),
            new(false, ListenerParts.TlsTransportProtocol, [], false),
        ],
        _ =>
        [
            new(true, ListenerParts.RawBufferTransportProtocol, PlaintextHttpAlpns, false),
            new(false, ListenerParts.RawBufferTransportProtocol, [], false),
        ],
    };

    private static IEnumerable<FilterChain> Chains(PushContext context, Proxy proxy, ChainConfig cc, MatchOption[] options)
    {
        var cluster = cc.Passthrough ? MeshNames.InboundPassthroughCluster : MeshNames.InboundCluster(cc.TargetPort);
        foreach (var option in options)
        {
            var match = new FilterChainMatch { TransportProtocol = option.TransportProtocol };
            match.ApplicationProtocols.AddRange(option.Alpns);
            if (cc.TargetPort > 0)
            {
                match.DestinationPort = (uint)cc.TargetPort;
            }
            var chain = new FilterChain
            {
                Name = cc.Passthrough
                    ? option.Http ? CatchAllHttpChain : MeshNames.VirtualInboundListener
                    : MeshNames.InboundChain(cc.TargetPort),
                FilterChainMatch = match,
            };
            if (option.Http)
            {
                var statPrefix = ListenerParts.DelimitedStatPrefix(cc.Passthrough ? cluster : "inbound_" + MeshNames.InboundChain(cc.TargetPort));
                var hcm = ListenerParts.BuildHttpConnectionManager(ListenerClass.SidecarInbound, statPrefix, rds: null,
                    RouteConfig(cc, cluster), RbacFilters.Http(context, proxy));
                chain.Filters.Add(ListenerParts.NetworkFilter(ListenerParts.HttpConnectionManagerName, hcm));
            }
            else
            {
                chain.Filters.AddRange(RbacFilters.Network(context, proxy));
                chain.Filters.Add(ListenerParts.TcpProxyFilter(cluster));
            }
            if (option.Tls)
            {
                chain.TransportSocket = ListenerParts.DownstreamTls(AuthnPolicy.InboundTls(option.Http));
            }
            yield return chain;
        }
    }

    /// <summary>istiod's inline inbound route configuration: named after the cluster, one virtual host
    /// <c>inbound|http|&lt;servicePort&gt;</c> for every domain with a <c>default</c> route to the cluster and no
    /// timeout.</summary>
    private static RouteConfiguration RouteConfig(ChainConfig cc, string cluster)
    {
        var route = new RouteProto
        {
            Name = "default",
            Match = new RouteMatch { Prefix = "/" },
            Route_ = new RouteAction
            {
                Cluster = cluster,
                Timeout = new Duration(),
                MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { MaxStreamDuration_ = new Duration(), GrpcTimeoutHeaderMax = new Duration() },
            },
        };
        if (!cc.Passthrough)
        {
            route.Decorator = new Decorator { Operation = string.Create(CultureInfo.InvariantCulture, $"{cc.Hostname}:{cc.ServicePort}/*") };
        }
        return new RouteConfiguration
        {
            Name = cluster,
            ValidateClusters = false,
            VirtualHosts =
            {
                new VirtualHost
                {
                    Name = string.Create(CultureInfo.InvariantCulture, $"inbound|http|{cc.ServicePort}"),
                    Domains = { "*" },
                    Routes = { route },
                },
            },
        };
    }

    private static FilterChain Blackhole()
    {
        var chain = new FilterChain
        {
            Name = BlackholeChain,
            FilterChainMatch = new FilterChainMatch { DestinationPort = MeshNames.VirtualInboundPort },
        };
        chain.Filters.Add(ListenerParts.TcpProxyFilter(MeshNames.BlackHoleCluster));
        return chain;
    }

    /// <summary>istiod's listener inspectors: the TLS inspector where some chain matches transport <c>tls</c>, the HTTP
    /// inspector where some chain matches a plaintext HTTP ALPN, each disabled on the other ports (port 0 standing for
    /// the passthrough chains' "any port").</summary>
    public static IEnumerable<ListenerFilter> Inspectors(IEnumerable<FilterChain> chains)
    {
        ArgumentNullException.ThrowIfNull(chains);
        var ports = new SortedDictionary<int, (bool Tls, bool Http)>();
        foreach (var chain in chains)
        {
            var port = (int)(chain.FilterChainMatch?.DestinationPort ?? 0);
            var tls = chain.FilterChainMatch?.TransportProtocol == ListenerParts.TlsTransportProtocol;
            var http = chain.FilterChainMatch?.ApplicationProtocols.Any(a => a is "http/1.1" or "h2c") == true;
            ports.TryGetValue(port, out var was);
            ports[port] = (was.Tls || tls, was.Http || http);
        }
        if (ports.Values.Any(p => p.Tls))
        {
            var defaultOn = ports.TryGetValue(0, out var any) && any.Tls;
            var listed = ports.Where(p => p.Key != 0 && p.Value.Tls != defaultOn).Select(p => p.Key).ToList();
            yield return listed.Count == 0
                ? ListenerParts.TlsInspectorFilter()
                : ListenerParts.TlsInspectorFilter(defaultOn ? PortsPredicate(listed) : new ListenerFilterChainMatchPredicate { NotMatch = PortsPredicate(listed) });
        }
        if (ports.Values.Any(p => p.Http))
        {
            var off = ports.Where(p => !p.Value.Http).Select(p => p.Key).ToList();
            yield return off.Count == 0 ? ListenerParts.HttpInspectorFilter() : ListenerParts.HttpInspectorFilter(PortsPredicate(off));
        }
    }

    /// <summary>A predicate matching any of <paramref name="ports"/> (a filter is disabled where it matches).</summary>
    private static ListenerFilterChainMatchPredicate PortsPredicate(List<int> ports)
    {
        var rules = ports.Select(p => new ListenerFilterChainMatchPredicate
        {
            DestinationPortRange = new Envoy.Type.V3.Int32Range { Start = p, End = p + 1 },
        }).ToList();
        if (rules.Count == 1)
        {
            return rules[0];
        }
        var set = new ListenerFilterChainMatchPredicate.Types.MatchSet();
        set.Rules.AddRange(rules);
        return new ListenerFilterChainMatchPredicate { OrMatch = set };
    }
}
