using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using MeshHost.Model;
using XdsServer.Discovery;
using ListenerProto = Envoy.Config.Listener.V3.Listener;

namespace MeshHost.Generation;

/// <summary>
/// A sidecar's outbound listeners as istiod builds them (pilot/pkg/networking/core/listener.go and
/// listener_builder.go in istio, read for the facts only): <c>virtualOutbound</c> (0.0.0.0:15001,
/// <c>use_original_dst</c>) that hands each connection to the listener of its original destination or else to
/// PassthroughCluster (ALLOW_ANY) or BlackHoleCluster (REGISTRY_ONLY); <c>0.0.0.0_&lt;port&gt;</c> per HTTP service
/// port (an HTTP connection manager with RDS <c>"&lt;port&gt;"</c>), and <c>&lt;vip&gt;_&lt;port&gt;</c> per TCP service
/// port (<c>tcp_proxy</c> to <c>outbound|&lt;port&gt;||&lt;host&gt;</c>). Every outbound listener but the virtual one
/// has <c>bind_to_port: false</c>: it only receives what virtualOutbound hands over.
/// </summary>
/// <remarks>
/// Simplifications: ports of unknown protocol are TCP (istiod would sniff them); HTTPS/TLS ports are plain
/// <c>tcp_proxy</c> on the VIP (istiod adds an SNI match); a headless TCP service gets a <c>0.0.0.0_&lt;port&gt;</c>
/// listener (istiod builds one per endpoint address); only the first address of a service is used; UDP is skipped.
/// Conflicts follow istiod's rule that an HTTP listener on 0.0.0.0 wins: a TCP service that would need the same
/// wildcard listener is left out and reported on the service; of two TCP services on one address and port the first
/// (in registry order) wins.
/// </remarks>
public static class OutboundListeners
{
    /// <summary>istiod's name of the virtualOutbound chain that drops traffic addressed to 15001 itself.</summary>
    public const string BlackholeChain = "virtualOutbound-blackhole";

    /// <summary>istiod's name of the virtualOutbound catch-all chain.</summary>
    public const string CatchAllChain = "virtualOutbound-catchall-tcp";

    /// <summary>The outbound listeners of <paramref name="proxy"/> (service listeners ordered by name), and the RDS
    /// names of the HTTP ones.</summary>
    public static (List<ListenerProto> Listeners, List<string> RouteNames) Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var services = context.VisibleServices(proxy);
        var httpPorts = new SortedSet<int>();
        foreach (var service in services)
        {
            foreach (var port in service.Ports)
            {
                if (InboundListener.IsHttp(port.Protocol))
                {
                    httpPorts.Add(port.Port);
                }
            }
        }

        var listeners = new List<ListenerProto>();
        var routes = new List<string>();
        foreach (var port in httpPorts)
        {
            var rds = MeshNames.OutboundRoute(port);
            routes.Add(rds);
            var hcm = ListenerParts.BuildHttpConnectionManager(ListenerClass.SidecarOutbound,
                ListenerParts.DelimitedStatPrefix("outbound_" + MeshNames.WildcardListener(port)), rds, routeConfig: null, authorization: []);
            var chain = new FilterChain();
            chain.Filters.Add(ListenerParts.NetworkFilter(ListenerParts.HttpConnectionManagerName, hcm));
            listeners.Add(Listener(MeshNames.WildcardListener(port), ListenerParts.WildcardAddress, port, chain));
        }

        var tcp = new Dictionary<string, DiscoveredService>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            foreach (var port in service.Ports)
            {
                if (InboundListener.IsHttp(port.Protocol) || port.Protocol == ServicePortProtocol.Udp)
                {
                    continue;
                }
                var address = service.Addresses.Count > 0 ? service.Addresses[0] : ListenerParts.WildcardAddress;
                var name = address == ListenerParts.WildcardAddress ? MeshNames.WildcardListener(port.Port) : MeshNames.VipListener(address, port.Port);
                if (address == ListenerParts.WildcardAddress && httpPorts.Contains(port.Port))
                {
                    context.Report(service.Key, string.Create(CultureInfo.InvariantCulture,
                        $"spec.ports[{port.Name}]: TCP port {port.Port} has no address of its own and conflicts with the HTTP listener {name}; the HTTP listener wins and this port gets no outbound listener"));
                    continue;
                }
                if (tcp.TryGetValue(name, out var first))
                {
                    if (first.Hostname != service.Hostname)
                    {
                        context.Report(service.Key, string.Create(CultureInfo.InvariantCulture,
                            $"spec.ports[{port.Name}]: the outbound listener {name} already serves {first.Hostname}; this port gets none"));
                    }
                    continue;
                }
                tcp[name] = service;
                var chain = new FilterChain();
                chain.Filters.Add(ListenerParts.TcpProxyFilter(MeshNames.OutboundCluster(port.Port, null, service.Hostname)));
                listeners.Add(Listener(name, address, port.Port, chain));
            }
        }
        listeners.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return (listeners, routes);
    }

    /// <summary>The virtualOutbound listener: a blackhole chain for 15001 itself, then the catch-all chain to
    /// PassthroughCluster or, under REGISTRY_ONLY (mesh or Sidecar), BlackHoleCluster.</summary>
    public static ListenerProto VirtualOutbound(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var blackhole = new FilterChain
        {
            Name = BlackholeChain,
            FilterChainMatch = new FilterChainMatch { DestinationPort = MeshNames.VirtualOutboundPort },
        };
        blackhole.Filters.Add(ListenerParts.TcpProxyFilter(MeshNames.BlackHoleCluster));
        var catchAll = new FilterChain { Name = CatchAllChain };
        catchAll.Filters.Add(ListenerParts.TcpProxyFilter(context.AllowAnyOutbound(proxy) ? MeshNames.PassthroughCluster : MeshNames.BlackHoleCluster));
        return new ListenerProto
        {
            Name = MeshNames.VirtualOutboundListener,
            Address = ListenerParts.TcpAddress(ListenerParts.WildcardAddress, MeshNames.VirtualOutboundPort),
            UseOriginalDst = true,
            TrafficDirection = TrafficDirection.Outbound,
            FilterChains = { blackhole, catchAll },
        };
    }

    private static ListenerProto Listener(string name, string address, int port, FilterChain chain) => new()
    {
        Name = name,
        Address = ListenerParts.TcpAddress(address, port),
        BindToPort = false,
        TrafficDirection = TrafficDirection.Outbound,
        FilterChains = { chain },
    };
}
