using System.Globalization;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;
using ListenerProto = Envoy.Config.Listener.V3.Listener;

namespace MeshHost.Generation;

/// <summary>
/// A gateway's listeners as istiod builds them (pilot/pkg/networking/core/gateway.go in istio, read for the facts
/// only): one listener <c>0.0.0.0_&lt;port&gt;</c> per port its Gateways' servers use (the server's <c>targetPort</c>
/// when set, else its number), binding the port; servers on the same port merge into that listener. Plaintext HTTP
/// servers share one chain with RDS <c>http.&lt;number&gt;</c>; each HTTPS server terminating TLS gets a chain
/// matching its hosts as SNI, with the certificate over SDS (<c>kubernetes://&lt;credentialName&gt;</c>, istiod's
/// secret name, fetched over ADS) and RDS <c>https.&lt;number&gt;.&lt;portName&gt;.&lt;gateway&gt;.&lt;namespace&gt;</c>;
/// each PASSTHROUGH server gets, per SNI host of a VirtualService <c>tls</c> route bound to the Gateway, a chain that
/// <c>tcp_proxy</c>s to the route's destination. The HTTP connection managers use the client's address
/// (<c>use_remote_address: true</c>).
/// </summary>
/// <remarks>
/// Not supported (reported, the server skipped): TCP/MONGO servers, TLS-protocol servers that terminate, AUTO_PASSTHROUGH,
/// file-based certificates (no credentialName), plaintext and TLS servers mixed on one port (the first kind wins), and
/// two TLS servers with the same SNI host on one port (the first wins). A PASSTHROUGH route with several destinations
/// uses the first.
/// </remarks>
public static class GatewayListeners
{
    private sealed class PortPlan(int listenPort)
    {
        public int ListenPort { get; } = listenPort;

        public bool? Plaintext { get; set; }

        public string? HttpRoute { get; set; }

        public List<FilterChain> TlsChains { get; } = [];

        public HashSet<string> ServerNames { get; } = new(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The listeners and RDS names of a gateway proxy.</summary>
    public static ListenerSet Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var plans = new SortedDictionary<int, PortPlan>();
        var routes = new List<string>();
        var http = RbacFilters.Http(context, proxy);
        foreach (var (gateway, spec) in context.GatewaysOf(proxy))
        {
            for (var i = 0; i < spec.Servers.Count; i++)
            {
                AddServer(context, proxy, gateway, spec.Servers[i], $"spec.servers[{i}]", plans, routes, http);
            }
        }

        var listeners = new List<ListenerProto>();
        foreach (var plan in plans.Values)
        {
            var listener = new ListenerProto
            {
                Name = MeshNames.WildcardListener(plan.ListenPort),
                Address = ListenerParts.TcpAddress(ListenerParts.WildcardAddress, plan.ListenPort),
                TrafficDirection = TrafficDirection.Outbound,
            };
            if (plan.HttpRoute is { } rds)
            {
                var hcm = ListenerParts.BuildHttpConnectionManager(ListenerClass.Gateway,
                    ListenerParts.DelimitedStatPrefix("outbound_" + MeshNames.WildcardListener(plan.ListenPort)), rds, routeConfig: null, http);
                var chain = new FilterChain();
                chain.Filters.Add(ListenerParts.NetworkFilter(ListenerParts.HttpConnectionManagerName, hcm));
                listener.FilterChains.Add(chain);
            }
            else if (plan.TlsChains.Count > 0)
            {
                listener.FilterChains.AddRange(plan.TlsChains);
                listener.ListenerFilters.Add(ListenerParts.TlsInspectorFilter());
            }
            if (listener.FilterChains.Count > 0)
            {
                listeners.Add(listener);
            }
        }
        return new ListenerSet(listeners, routes);
    }

    private static void AddServer(PushContext context, Proxy proxy, ConfigObject gateway, GatewayServer server, string path,
        SortedDictionary<int, PortPlan> plans, List<string> routes, IReadOnlyList<Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter> authorization)
    {
        var number = server.Port.Number;
        var listenPort = context.GatewayListenPort(proxy, server);
        if (number is <= 0 or > 65535 || listenPort is <= 0 or > 65535)
        {
            context.Report(gateway.Key, $"{path}.port: {number} is not a port; the server is skipped");
            return;
        }
        var protocol = server.Port.Protocol.ToUpperInvariant();
        var mode = server.Tls?.Mode?.ToUpperInvariant() ?? "SIMPLE";
        bool plaintext;
        switch (protocol)
        {
            case "HTTP" or "HTTP2" or "GRPC" or "GRPC-WEB":
                plaintext = true;
                break;
            case "HTTPS" when mode is "SIMPLE" or "MUTUAL" or "ISTIO_MUTUAL" or "OPTIONAL_MUTUAL":
            case "HTTPS" or "TLS" when mode == "PASSTHROUGH":
                plaintext = false;
                break;
            default:
                context.Report(gateway.Key, $"{path}: protocol {server.Port.Protocol} with TLS mode {mode} is not supported; the server is skipped");
                return;
        }
        if (!plans.TryGetValue(listenPort, out var plan))
        {
            plans[listenPort] = plan = new PortPlan(listenPort);
        }
        if (plan.Plaintext is { } kind && kind != plaintext)
        {
            context.Report(gateway.Key, string.Create(CultureInfo.InvariantCulture,
                $"{path}: port {listenPort} already has {(kind ? "plaintext" : "TLS")} servers; mixing plaintext and TLS servers on one port is not supported; the server is skipped"));
            return;
        }
        plan.Plaintext = plaintext;
        if (plaintext)
        {
            if (plan.HttpRoute is null)
            {
                plan.HttpRoute = MeshNames.GatewayRoute(listenPort);
                routes.Add(plan.HttpRoute);
            }
            return;
        }

        var hosts = server.Hosts.Select(h => h.Contains('/', StringComparison.Ordinal) ? h[(h.IndexOf('/', StringComparison.Ordinal) + 1)..] : h).ToList();
        if (mode == "PASSTHROUGH")
        {
            AddPassthrough(context, gateway, server, path, plan, hosts);
            return;
        }
        if (mode != "ISTIO_MUTUAL" && string.IsNullOrEmpty(server.Tls?.CredentialName))
        {
            context.Report(gateway.Key, $"{path}.tls.credentialName: required (file-based certificates are not supported); the server is skipped");
            return;
        }
        // "*" (or any host that covers all) means no SNI match.
        List<string> serverNames = hosts.Contains("*") ? [] : hosts;
        if (!Claim(context, gateway, path, plan, serverNames))
        {
            return;
        }
        var rds = $"https.{number.ToString(CultureInfo.InvariantCulture)}.{server.Port.Name}.{gateway.Key.Name}.{gateway.Key.Namespace}";
        routes.Add(rds);
        var hcm = ListenerParts.BuildHttpConnectionManager(ListenerClass.Gateway,
            ListenerParts.DelimitedStatPrefix("outbound_" + MeshNames.WildcardListener(listenPort)), rds, routeConfig: null, authorization);
        var chain = new FilterChain
        {
            FilterChainMatch = new FilterChainMatch { ServerNames = { serverNames } },
            TransportSocket = ListenerParts.DownstreamTls(ServerTls(mode, server.Tls?.CredentialName)),
        };
        chain.Filters.Add(ListenerParts.NetworkFilter(ListenerParts.HttpConnectionManagerName, hcm));
        plan.TlsChains.Add(chain);
    }

    /// <summary>Reserves SNI names on a port; false (reported) when another server holds one of them.</summary>
    private static bool Claim(PushContext context, ConfigObject gateway, string path, PortPlan plan, List<string> serverNames)
    {
        List<string> keys = serverNames.Count == 0 ? ["*"] : serverNames;
        if (keys.FirstOrDefault(plan.ServerNames.Contains) is { } taken)
        {
            context.Report(gateway.Key, string.Create(CultureInfo.InvariantCulture,
                $"{path}.hosts: \"{taken}\" is already served by another TLS server on port {plan.ListenPort}; the server is skipped"));
            return false;
        }
        plan.ServerNames.UnionWith(keys);
        return true;
    }

    /// <summary>istiod's gateway DownstreamTlsContext: SIMPLE serves the credential's certificate; MUTUAL also
    /// requires a client certificate checked against <c>&lt;credentialName&gt;-cacert</c>; ISTIO_MUTUAL uses the
    /// workload certificate and trust bundle from istio-agent. ALPN <c>h2</c>, <c>http/1.1</c>.</summary>
    public static DownstreamTlsContext ServerTls(string mode, string? credentialName)
    {
        ArgumentNullException.ThrowIfNull(mode);
        if (mode == "ISTIO_MUTUAL")
        {
            var mesh = AuthnPolicy.InboundTls(http: true);
            mesh.CommonTlsContext.TlsParams = null;
            return mesh;
        }
        var common = new CommonTlsContext
        {
            AlpnProtocols = { "h2", "http/1.1" },
            TlsCertificateSdsSecretConfigs = { CredentialSecret("kubernetes://" + credentialName) },
        };
        var mutual = mode is "MUTUAL" or "OPTIONAL_MUTUAL";
        if (mutual)
        {
            common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
            {
                DefaultValidationContext = new CertificateValidationContext(),
                ValidationContextSdsSecretConfig = CredentialSecret("kubernetes://" + credentialName + "-cacert"),
            };
        }
        return new DownstreamTlsContext { CommonTlsContext = common, RequireClientCertificate = mode == "MUTUAL" };
    }

    /// <summary>A credential secret istiod itself serves over ADS.</summary>
    private static SdsSecretConfig CredentialSecret(string name) => new()
    {
        Name = name,
        SdsConfig = new ConfigSource { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 },
    };

    private static void AddPassthrough(PushContext context, ConfigObject gateway, GatewayServer server, string path, PortPlan plan, List<string> hosts)
    {
        var found = false;
        foreach (var (sni, cluster) in TlsRoutes(context, gateway, server.Port.Number))
        {
            if (!hosts.Any(h => PushContext.HostMatches(h, sni)))
            {
                continue;
            }
            found = true;
            if (!Claim(context, gateway, path, plan, [sni]))
            {
                continue;
            }
            var chain = new FilterChain { FilterChainMatch = new FilterChainMatch { ServerNames = { sni } } };
            chain.Filters.Add(ListenerParts.TcpProxyFilter(cluster));
            plan.TlsChains.Add(chain);
        }
        if (!found)
        {
            context.Report(gateway.Key, $"{path}: a PASSTHROUGH server needs a VirtualService tls route (match.sniHosts) bound to this Gateway; none found");
        }
    }

    /// <summary>The (SNI host, cluster) pairs of the VirtualService <c>tls</c> routes bound to a Gateway, read from the
    /// VirtualService specs directly (only <c>gateways</c>, <c>tls[].match[].sniHosts</c>/<c>port</c> and the first
    /// <c>route[].destination</c>).</summary>
    private static IEnumerable<(string Sni, string Cluster)> TlsRoutes(PushContext context, ConfigObject gateway, int port)
    {
        foreach (var vs in context.Registry.OfKind(IstioKinds.VirtualService).OfType<ConfigObject>()
            .OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal))
        {
            var spec = vs.Spec;
            if (spec.ValueKind != JsonValueKind.Object || !Bound(spec, vs, gateway)
                || !spec.TryGetProperty("tls", out var tls) || tls.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            foreach (var route in tls.EnumerateArray())
            {
                if (Destination(context, vs, route) is not { } cluster || !route.TryGetProperty("match", out var matches) || matches.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }
                foreach (var match in matches.EnumerateArray())
                {
                    if (match.TryGetProperty("port", out var p) && p.TryGetInt32(out var matchPort) && matchPort != port)
                    {
                        continue;
                    }
                    if (match.TryGetProperty("sniHosts", out var snis) && snis.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var sni in snis.EnumerateArray())
                        {
                            if (sni.GetString() is { Length: > 0 } name)
                            {
                                yield return (name, cluster);
                            }
                        }
                    }
                }
            }
        }
    }

    private static bool Bound(JsonElement spec, ConfigObject vs, ConfigObject gateway)
    {
        if (!spec.TryGetProperty("gateways", out var gateways) || gateways.ValueKind != JsonValueKind.Array)
        {
            return false;
        }
        foreach (var g in gateways.EnumerateArray())
        {
            var name = g.GetString() ?? string.Empty;
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            var (ns, n) = slash < 0 ? (vs.Key.Namespace, name) : (name[..slash], name[(slash + 1)..]);
            if (ns == gateway.Key.Namespace && n == gateway.Key.Name)
            {
                return true;
            }
        }
        return false;
    }

    private static string? Destination(PushContext context, ConfigObject vs, JsonElement route)
    {
        if (!route.TryGetProperty("route", out var destinations) || destinations.ValueKind != JsonValueKind.Array || destinations.GetArrayLength() == 0)
        {
            return null;
        }
        if (destinations.GetArrayLength() > 1)
        {
            context.Report(vs.Key, "spec.tls[].route: several destinations behind a gateway PASSTHROUGH server are not supported; the first is used");
        }
        var first = destinations[0];
        if (!first.TryGetProperty("destination", out var destination) || !destination.TryGetProperty("host", out var hostElement)
            || hostElement.GetString() is not { Length: > 0 } host)
        {
            return null;
        }
        var hostname = context.ResolveHost(host, vs.Key.Namespace);
        var subset = destination.TryGetProperty("subset", out var s) ? s.GetString() : null;
        int port;
        if (destination.TryGetProperty("port", out var p) && p.TryGetProperty("number", out var n) && n.TryGetInt32(out var number))
        {
            port = number;
        }
        else if (context.ServicesByHost(hostname) is [{ Ports: [var only] }, ..])
        {
            port = only.Port;
        }
        else
        {
            context.Report(vs.Key, $"spec.tls[].route[0].destination.port: required for {hostname} (it does not have exactly one port)");
            return null;
        }
        return MeshNames.OutboundCluster(port, subset, hostname);
    }
}
