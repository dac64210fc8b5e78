using System.Globalization;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using EnvoyRoute = Envoy.Config.Route.V3.Route;
using RouteAction = Envoy.Config.Route.V3.RouteAction;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;
using RouteMatch = Envoy.Config.Route.V3.RouteMatch;
using VirtualHost = Envoy.Config.Route.V3.VirtualHost;

namespace MeshHost.Generation;

/// <summary>
/// Builds route configurations: a sidecar's outbound <c>"&lt;port&gt;"</c> and a gateway's
/// <c>"http.&lt;port&gt;"</c> (and <c>"https.&lt;port&gt;.&lt;portName&gt;.&lt;gateway&gt;.&lt;ns&gt;"</c>), from services and
/// the VirtualServices that apply, as istiod does (pilot/pkg/networking/core/httproute.go and gateway.go in istio).
/// </summary>
/// <remarks>
/// <para>Where several VirtualServices name the same host, the first in istiod's precedence wins the host (private to
/// the proxy's namespace, then exported to it, then public; namespace/name order within each, as the registry holds
/// no creation time). A VirtualService's wildcard host only takes a service no VirtualService names exactly; among
/// wildcards the longest wins.</para>
/// <para>Domains follow current istiod: Envoy proxies get no <c>:port</c> forms and
/// <c>ignore_port_in_host_matching</c> instead (so <c>reviews:9080</c> still matches); proxyless gRPC gets both.
/// Only declared HTTP, HTTP2, gRPC and gRPC-Web ports get virtual hosts (this registry does not sniff undeclared
/// protocols; istiod would).</para>
/// </remarks>
public static class RouteBuilder
{
    /// <summary>The largest direct response body istiod allows (1 MiB).</summary>
    public const uint MaxDirectResponseBodySize = 1024 * 1024;

    private static readonly IReadOnlySet<string> MeshOnly = new HashSet<string>(StringComparer.Ordinal) { RouteVirtualServices.MeshGateway };

    /// <summary>The route configuration named <paramref name="routeName"/> for <paramref name="proxy"/>, or null when
    /// the name means nothing for it.</summary>
    public static RouteConfiguration? Build(PushContext context, Proxy proxy, string routeName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(routeName);
        if (proxy.Type == ProxyType.Router)
        {
            return BuildGateway(context, proxy, routeName);
        }
        if (int.TryParse(routeName, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
        {
            return BuildSidecar(context, proxy, routeName, port, sniffedHost: null);
        }
        var colon = routeName.LastIndexOf(':');
        if (colon > 0 && int.TryParse(routeName[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536)
        {
            // A listener that sniffs HTTP on one service's address asks for "<host>:<port>".
            return BuildSidecar(context, proxy, routeName, port, sniffedHost: routeName[..colon]);
        }
        return null;
    }

    /// <summary>The virtual host of one service port as <paramref name="proxy"/> sees it: istiod's domains and the
    /// routes of the VirtualService that applies (or the default route to <c>outbound|port||host</c>). Used by the
    /// sidecar route configurations and by the proxyless gRPC generator.</summary>
    public static VirtualHost BuildVirtualHost(PushContext context, Proxy proxy, DiscoveredService service, ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(port);
        var name = MeshNames.VirtualHost(service.Hostname, port.Port);
        var hosts = SidecarVirtualHosts(context, proxy, port.Port, [service]);
        if (hosts.FirstOrDefault(h => h.Name == name) is { } vhost)
        {
            return vhost;
        }
        // Not an HTTP port (or a VirtualService took the host away): the default route still describes it.
        var domains = RouteHosts.ServiceDomains(service, port.Port, RouteHosts.ProxyDnsDomain(context, proxy), proxy.IsProxylessGrpc, out _);
        return new VirtualHost
        {
            Name = name,
            Domains = { domains },
            Routes = { DefaultRoute(context, service.Hostname, port.Port, proxy) },
            IncludeRequestAttemptCount = true,
        };
    }

    /// <summary>Whether istiod gives a port HTTP routes.</summary>
    public static bool IsHttp(ServicePortProtocol protocol) =>
        protocol is ServicePortProtocol.Http or ServicePortProtocol.Http2 or ServicePortProtocol.Grpc or ServicePortProtocol.GrpcWeb;

    /// <summary>The default route; as istiod, it carries the hash policy of a DestinationRule that hashes
    /// consistently.</summary>
    private static EnvoyRoute DefaultRoute(PushContext context, string hostname, int port, Proxy proxy)
    {
        var route = RouteTranslator.DefaultRoute(MeshNames.OutboundCluster(port, null, hostname),
            string.Create(CultureInfo.InvariantCulture, $"{hostname}:{port}/*"), proxy.IsProxylessGrpc);
        if (RouteTranslator.HashPolicy(context, proxy, hostname, port, null) is { } hash)
        {
            route.Route_.HashPolicy.Add(hash);
        }
        return route;
    }

    private static RouteConfiguration BuildSidecar(PushContext context, Proxy proxy, string routeName, int port, string? sniffedHost)
    {
        var vhosts = SidecarVirtualHosts(context, proxy, port, context.VisibleServices(proxy));
        vhosts.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        if (sniffedHost is not null)
        {
            vhosts = [.. vhosts.Where(v => v.Domains.Contains(routeName) || v.Domains.Contains(sniffedHost))];
            if (vhosts.Count == 1)
            {
                vhosts[0].Domains.Clear();
                vhosts[0].Domains.Add("*");
            }
        }
        else
        {
            vhosts.Add(CatchAll(context.AllowAnyOutbound(proxy)));
        }
        return new RouteConfiguration
        {
            Name = routeName,
            VirtualHosts = { vhosts },
            ValidateClusters = false,
            MaxDirectResponseBodySizeBytes = MaxDirectResponseBodySize,
            IgnorePortInHostMatching = true,
        };
    }

    private static VirtualHost CatchAll(bool allowAny)
    {
        if (allowAny)
        {
            var action = new RouteAction { Cluster = MeshNames.PassthroughCluster, Timeout = new Duration() };
#pragma warning disable CS0612, CS0618 // istiod sets the deprecated max_grpc_timeout.
            action.MaxGrpcTimeout = new Duration();
#pragma warning restore CS0612, CS0618
            return new VirtualHost
            {
                Name = MeshNames.AllowAnyVirtualHost,
                Domains = { "*" },
                Routes = { new EnvoyRoute { Name = MeshNames.AllowAnyVirtualHost, Match = new RouteMatch { Prefix = "/" }, Route_ = action } },
                IncludeRequestAttemptCount = true,
            };
        }
        return new VirtualHost
        {
            Name = MeshNames.BlockAllVirtualHost,
            Domains = { "*" },
            Routes =
            {
                new EnvoyRoute
                {
                    Name = MeshNames.BlockAllVirtualHost,
                    Match = new RouteMatch { Prefix = "/" },
                    DirectResponse = new Envoy.Config.Route.V3.DirectResponseAction { Status = 502 },
                },
            },
            IncludeRequestAttemptCount = true,
        };
    }

    private sealed record Wrapper(List<(DiscoveredService Service, ServicePort Port)> Services, List<string> VirtualServiceHosts, IReadOnlyList<EnvoyRoute> Routes);

    // istiod's BuildSidecarOutboundVirtualHosts for one port, over the candidate services.
    private static List<VirtualHost> SidecarVirtualHosts(PushContext context, Proxy proxy, int port, IReadOnlyList<DiscoveredService> candidates)
    {
        // One service per host name with this port: the proxy's namespace first, then the context's order.
        var byHost = new Dictionary<string, (DiscoveredService Service, ServicePort Port)>(StringComparer.OrdinalIgnoreCase);
        foreach (var service in candidates.OrderBy(s => s.Key.Namespace == proxy.Namespace ? 0 : 1))
        {
            if (service.Ports.FirstOrDefault(p => p.Port == port) is { } sp)
            {
                byHost.TryAdd(service.Hostname, (service, sp));
            }
        }
        var hostsInOrder = byHost.Keys.OrderBy(h => h, StringComparer.Ordinal).ToList();

        var virtualServices = RouteVirtualServices.ForGateway(context, proxy.Namespace, RouteVirtualServices.MeshGateway);
        if (proxy.Type == ProxyType.Sidecar && context.SidecarOf(proxy) is { Spec.Egress.Count: > 0 } scope)
        {
            // As istiod's SidecarScope: only the VirtualServices whose namespace the Sidecar's egress hosts import
            // (or "*"), with a host among those imported hosts.
            virtualServices = [.. virtualServices.Where(v => SidecarImports(scope, v, proxy.Namespace))];
        }
        if (port != 80)
        {
            // As istiod: on ports other than 80 only VirtualServices naming a service of the port count.
            virtualServices = [.. virtualServices.Where(v => v.Hosts.Any(h => hostsInOrder.Any(s => RouteHosts.Matches(h, s))))];
        }
        var mostSpecific = MostSpecificVirtualService(virtualServices, hostsInOrder);

        var translator = new RouteTranslator(context, proxy, port, MeshOnly, isTls: false, _ => null);
        var wrappers = new List<Wrapper>();
        var claimed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var vs in virtualServices)
        {
            var routes = translator.Translate(vs);
            if (routes.Count == 0)
            {
                continue;
            }
            var nonRegistry = new List<string>();
            var matching = new List<(DiscoveredService, ServicePort)>();
            foreach (var h in vs.Hosts.Where(h => !RouteHosts.IsWildcard(h)))
            {
                if (byHost.TryGetValue(h, out var entry))
                {
                    matching.Add(entry);
                }
                else
                {
                    nonRegistry.Add(h);
                }
            }
            foreach (var h in vs.Hosts.Where(RouteHosts.IsWildcard))
            {
                var found = false;
                foreach (var svcHost in hostsInOrder)
                {
                    if (!RouteHosts.Matches(svcHost, h))
                    {
                        continue;
                    }
                    found = true;
                    if (mostSpecific.TryGetValue(svcHost, out var best) && best == vs)
                    {
                        matching.Add(byHost[svcHost]);
                    }
                }
                if (!found)
                {
                    nonRegistry.Add(h);
                }
            }
            var http = matching.Where(m => IsHttp(m.Item2.Protocol)).Distinct().ToList();
            if (http.Count == 0 && port != 80)
            {
                continue;
            }
            wrappers.Add(new Wrapper(http, nonRegistry, routes));
            foreach (var (s, _) in http)
            {
                claimed.Add(s.Hostname);
            }
        }
        foreach (var host in hostsInOrder)
        {
            var (service, sp) = byHost[host];
            if (!claimed.Contains(host) && IsHttp(sp.Protocol))
            {
                wrappers.Add(new Wrapper([(service, sp)], [], [DefaultRoute(context, service.Hostname, sp.Port, proxy)]));
            }
        }

        var withPort = proxy.IsProxylessGrpc;
        var proxyDomain = RouteHosts.ProxyDnsDomain(context, proxy);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var seenDomains = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var knownFqdn = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in wrappers)
        {
            foreach (var (s, _) in w.Services)
            {
                knownFqdn.Add(MeshNames.VirtualHost(s.Hostname, port));
                knownFqdn.Add(s.Hostname);
            }
        }
        var result = new List<VirtualHost>();
        foreach (var w in wrappers)
        {
            foreach (var h in w.VirtualServiceHosts)
            {
                var name = MeshNames.VirtualHost(h, port);
                if (!names.Add(name))
                {
                    continue;
                }
                List<string> domains = withPort ? [RouteHosts.HostHeaderForm(h), name] : [RouteHosts.HostHeaderForm(h)];
                Add(name, domains, [], w.Routes);
            }
            foreach (var (s, sp) in w.Services)
            {
                var name = MeshNames.VirtualHost(s.Hostname, port);
                if (!names.Add(name))
                {
                    continue;
                }
                var domains = RouteHosts.ServiceDomains(s, sp.Port, proxyDomain, withPort, out var expanded);
                Add(name, domains, expanded, w.Routes);
            }
        }
        return result;

        void Add(string name, List<string> domains, List<string> expanded, IReadOnlyList<EnvoyRoute> routes)
        {
            // istiod's dedupeDomains: a domain answers for one virtual host only (the first built); a short form that
            // is some other service's FQDN stays that service's.
            var kept = new List<string>();
            foreach (var d in domains)
            {
                if (seenDomains.Contains(d) || (expanded.Contains(d) && knownFqdn.Contains(d)))
                {
                    continue;
                }
                kept.Add(d);
                seenDomains.Add(d);
            }
            if (kept.Count > 0)
            {
                result.Add(new VirtualHost { Name = name, Domains = { kept }, Routes = { routes }, IncludeRequestAttemptCount = true });
            }
        }
    }

    private static bool SidecarImports(SidecarScope scope, ResolvedVirtualService vs, string proxyNamespace)
    {
        foreach (var (ns, host) in scope.Hosts)
        {
            var wanted = ns == "." ? proxyNamespace : ns;
            if ((wanted == "*" || wanted == vs.Namespace)
                && vs.Hosts.Any(h => PushContext.HostMatches(host, h) || PushContext.HostMatches(h, host)))
            {
                return true;
            }
        }
        return false;
    }

    // For each service host, the VirtualService whose host names it most specifically: an exact host beats any
    // wildcard, a longer wildcard beats a shorter one, and the earlier VirtualService wins a tie.
    private static Dictionary<string, ResolvedVirtualService> MostSpecificVirtualService(IReadOnlyList<ResolvedVirtualService> virtualServices, List<string> serviceHosts)
    {
        var result = new Dictionary<string, ResolvedVirtualService>(StringComparer.OrdinalIgnoreCase);
        foreach (var svcHost in serviceHosts)
        {
            var bestRank = -1;
            foreach (var vs in virtualServices)
            {
                foreach (var h in vs.Hosts)
                {
                    var rank = string.Equals(h, svcHost, StringComparison.OrdinalIgnoreCase) ? int.MaxValue
                        : RouteHosts.IsWildcard(h) && RouteHosts.Matches(svcHost, h) ? h.Length : -1;
                    if (rank > bestRank)
                    {
                        bestRank = rank;
                        result[svcHost] = vs;
                    }
                }
            }
        }
        return result;
    }

    private sealed class GatewayVirtualHost(VirtualHost host)
    {
        public VirtualHost Host { get; } = host;

        // Which computed route lists (per gateway and VirtualService) the routes are, in order: istiod collapses
        // virtual hosts whose route lists are the same objects.
        public List<int> Signature { get; } = [];
    }

    private static RouteConfiguration? BuildGateway(PushContext context, Proxy proxy, string routeName)
    {
        var servers = GatewayServers(context, proxy, routeName);
        if (servers is null)
        {
            return null;
        }
        var config = new RouteConfiguration
        {
            Name = routeName,
            ValidateClusters = false,
        };
        if (servers.Count == 0)
        {
            // As istiod: no server has this route (e.g. the Gateway went away while Envoy drains): empty.
            return config;
        }
        var vsByGateway = new Dictionary<string, IReadOnlyList<ResolvedVirtualService>>(StringComparer.Ordinal);
        var routesByVs = new Dictionary<string, (int Id, IReadOnlyList<EnvoyRoute> Routes)>(StringComparer.Ordinal);
        var vhosts = new Dictionary<string, GatewayVirtualHost>(StringComparer.Ordinal);
        foreach (var (gatewayName, server) in servers)
        {
            var port = server.Port.Number;
            if (!vsByGateway.TryGetValue(gatewayName, out var virtualServices))
            {
                vsByGateway[gatewayName] = virtualServices = RouteVirtualServices.ForGateway(context, proxy.Namespace, gatewayName);
            }
            var redirect = server.Tls?.HttpsRedirect == true;
            foreach (var vs in virtualServices)
            {
                var intersecting = RouteHosts.Intersection(RouteHosts.ServerHostsForNamespace(server.Hosts, vs.Namespace), vs.Hosts);
                if (intersecting.Count == 0)
                {
                    continue;
                }
                var key = gatewayName + "|" + vs.Namespace + "/" + vs.Name;
                if (!routesByVs.TryGetValue(key, out var computed))
                {
                    var translator = new RouteTranslator(context, proxy, port, new HashSet<string>(StringComparer.Ordinal) { gatewayName },
                        isTls: server.Tls is not null, host => GatewayDefaultPort(context, proxy, vs, host));
                    computed = (routesByVs.Count, translator.Translate(vs));
                    routesByVs[key] = computed;
                }
                if (computed.Routes.Count == 0)
                {
                    continue;
                }
                foreach (var h in intersecting)
                {
                    var hostname = h.ToLowerInvariant();
                    if (!vhosts.TryGetValue(hostname, out var vhost))
                    {
                        vhosts[hostname] = vhost = new GatewayVirtualHost(new VirtualHost
                        {
                            Name = MeshNames.VirtualHost(hostname, port),
                            Domains = { hostname },
                            IncludeRequestAttemptCount = true,
                        });
                    }
                    vhost.Host.Routes.AddRange(computed.Routes);
                    vhost.Signature.Add(computed.Id);
                    if (redirect)
                    {
                        vhost.Host.RequireTls = VirtualHost.Types.TlsRequirementType.All;
                    }
                }
            }
            if (redirect)
            {
                foreach (var h in server.Hosts)
                {
                    var hostname = (h.Contains('/', StringComparison.Ordinal) ? h[(h.IndexOf('/', StringComparison.Ordinal) + 1)..] : h).ToLowerInvariant();
                    if (vhosts.TryGetValue(hostname, out var existing))
                    {
                        existing.Host.RequireTls = VirtualHost.Types.TlsRequirementType.All;
                        continue;
                    }
                    vhosts[hostname] = new GatewayVirtualHost(new VirtualHost
                    {
                        Name = MeshNames.VirtualHost(hostname, port),
                        Domains = { hostname },
                        IncludeRequestAttemptCount = true,
                        RequireTls = VirtualHost.Types.TlsRequirementType.All,
                    });
                }
            }
        }

        var result = new List<VirtualHost>();
        if (vhosts.Count == 0)
        {
            // As istiod: a route with no virtual host at all gets one that answers 404 (no routes).
            result.Add(new VirtualHost { Name = MeshNames.VirtualHost("blackhole", servers[0].Server.Port.Number), Domains = { "*" } });
        }
        else
        {
            // istiod's collapseDuplicateRoutes: virtual hosts with the same routes become one, named after the first.
            var primaries = new List<GatewayVirtualHost>();
            foreach (var h in vhosts.Keys.Order(Comparer<string>.Create(RouteHosts.Compare)))
            {
                var v = vhosts[h];
                var into = primaries.FirstOrDefault(p => p.Signature.SequenceEqual(v.Signature)
                    && p.Host.RequireTls == v.Host.RequireTls && p.Host.IncludeRequestAttemptCount == v.Host.IncludeRequestAttemptCount);
                if (into is not null)
                {
                    into.Host.Domains.AddRange(v.Host.Domains);
                }
                else
                {
                    primaries.Add(v);
                }
            }
            foreach (var p in primaries)
            {
                // Catch-all routes (from different VirtualServices) go last, keeping the others' order.
                var ordered = p.Host.Routes.Where(r => !RouteTranslator.IsCatchAll(r)).Concat(p.Host.Routes.Where(RouteTranslator.IsCatchAll)).ToList();
                p.Host.Routes.Clear();
                p.Host.Routes.AddRange(ordered);
                result.Add(p.Host);
            }
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        config.VirtualHosts.AddRange(result);
        config.IgnorePortInHostMatching = !proxy.IsProxylessGrpc;
        config.MaxDirectResponseBodySizeBytes = MaxDirectResponseBodySize;
        return config;
    }

    // The servers of the gateway proxy's Gateways that use this route name (null: not a gateway route name), with
    // istiod's host sanitising: "./h" is the Gateway's namespace, "*/h" is "h", "*/*" is "*".
    private static List<(string GatewayName, GatewayServer Server)>? GatewayServers(PushContext context, Proxy proxy, string routeName)
    {
        var parts = routeName.Split('.');
        var isHttp = parts.Length == 2 && parts[0] == "http";
        var isHttps = parts.Length == 5 && parts[0] == "https";
        if ((!isHttp && !isHttps) || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }
        var result = new List<(string, GatewayServer)>();
        foreach (var (obj, spec) in context.GatewaysOf(proxy))
        {
            foreach (var server in spec.Servers)
            {
                var protocol = server.Port.Protocol.ToUpperInvariant();
                bool selected;
                if (isHttp)
                {
                    selected = protocol is "HTTP" or "HTTP2" or "GRPC" or "GRPC-WEB"
                        && context.GatewayListenPort(proxy, server) == port;
                }
                else
                {
                    var mode = server.Tls?.Mode?.ToUpperInvariant();
                    selected = protocol == "HTTPS" && server.Tls is not null && mode is not ("PASSTHROUGH" or "AUTO_PASSTHROUGH")
                        && server.Port.Number == port && (server.Port.Name ?? string.Empty) == parts[2]
                        && obj.Key.Name == parts[3] && obj.Key.Namespace == parts[4];
                }
                if (selected)
                {
                    result.Add(($"{obj.Key.Namespace}/{obj.Key.Name}", Sanitized(server, obj.Key.Namespace)));
                }
            }
        }
        return result;
    }

    private static GatewayServer Sanitized(GatewayServer server, string @namespace)
    {
        var hosts = new List<string>();
        foreach (var h in server.Hosts)
        {
            var slash = h.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                hosts.Add(h);
            }
            else if (h[..slash] == ".")
            {
                hosts.Add($"{@namespace}/{h[(slash + 1)..]}");
            }
            else if (h[..slash] == "*")
            {
                if (h[(slash + 1)..] == "*")
                {
                    hosts = ["*"];
                    break;
                }
                hosts.Add(h[(slash + 1)..]);
            }
            else
            {
                hosts.Add(h);
            }
        }
        return new GatewayServer { Port = server.Port, Hosts = hosts, Tls = server.Tls, Name = server.Name };
    }

    // istiod's buildNameToServiceMapForHTTPRoutes: the destination's service in the VirtualService's namespace if the
    // proxy may see it, else any the proxy may see; a service with one port decides the port.
    private static int? GatewayDefaultPort(PushContext context, Proxy proxy, ResolvedVirtualService vs, string host)
    {
        var candidates = context.ServicesByHost(host).Where(s => PushContext.IsExportedTo(s, proxy.Namespace)).ToList();
        var service = candidates.FirstOrDefault(s => s.Key.Namespace == vs.Namespace) ?? candidates.FirstOrDefault();
        return service is { Ports.Count: 1 } ? service.Ports[0].Port : null;
    }
}
