using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using CorsFilter = Envoy.Extensions.Filters.Http.Cors.V3.Cors;
using FaultFilter = Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault;
using HttpInspector = Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector;
using OriginalDst = Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;
using RouterFilter = Envoy.Extensions.Filters.Http.Router.V3.Router;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;
using TlsInspector = Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspector;

namespace MeshHost.Generation;

/// <summary>Which side of the proxy an HTTP connection manager serves; decides istiod's per-class settings.</summary>
public enum ListenerClass
{
    /// <summary>A sidecar's inbound chain (traffic to its workload).</summary>
    SidecarInbound,

    /// <summary>A sidecar's outbound listener (traffic from its workload).</summary>
    SidecarOutbound,

    /// <summary>A gateway's listener.</summary>
    Gateway,
}

/// <summary>The pieces every listener is made of, named and configured as istiod names and configures them
/// (pilot/pkg/networking/core/listener_builder.go in istio, read for the facts only).</summary>
public static class ListenerParts
{
    /// <summary><c>envoy.filters.network.http_connection_manager</c>.</summary>
    public const string HttpConnectionManagerName = "envoy.filters.network.http_connection_manager";

    /// <summary><c>envoy.filters.network.tcp_proxy</c>.</summary>
    public const string TcpProxyName = "envoy.filters.network.tcp_proxy";

    /// <summary><c>envoy.filters.http.router</c>.</summary>
    public const string RouterName = "envoy.filters.http.router";

    /// <summary><c>envoy.filters.http.fault</c>.</summary>
    public const string FaultName = "envoy.filters.http.fault";

    /// <summary><c>envoy.filters.http.cors</c>.</summary>
    public const string CorsName = "envoy.filters.http.cors";

    /// <summary><c>envoy.filters.http.rbac</c>.</summary>
    public const string HttpRbacName = "envoy.filters.http.rbac";

    /// <summary><c>envoy.filters.network.rbac</c>.</summary>
    public const string NetworkRbacName = "envoy.filters.network.rbac";

    /// <summary><c>envoy.filters.listener.original_dst</c>.</summary>
    public const string OriginalDstName = "envoy.filters.listener.original_dst";

    /// <summary><c>envoy.filters.listener.tls_inspector</c>.</summary>
    public const string TlsInspectorName = "envoy.filters.listener.tls_inspector";

    /// <summary><c>envoy.filters.listener.http_inspector</c>.</summary>
    public const string HttpInspectorName = "envoy.filters.listener.http_inspector";

    /// <summary><c>envoy.transport_sockets.tls</c>.</summary>
    public const string TlsTransportSocketName = "envoy.transport_sockets.tls";

    /// <summary>The filter chain match transport protocol the TLS inspector sets.</summary>
    public const string TlsTransportProtocol = "tls";

    /// <summary>The transport protocol of a connection the TLS inspector found not to be TLS.</summary>
    public const string RawBufferTransportProtocol = "raw_buffer";

    /// <summary>The wildcard address of (IPv4) listeners.</summary>
    public const string WildcardAddress = "0.0.0.0";

    /// <summary>istiod's delimited stat prefix of an HTTP connection manager: the prefix and <c>;</c>, which its
    /// stats tag extraction uses as the end of the name.</summary>
    public static string DelimitedStatPrefix(string prefix) => prefix + ";";

    /// <summary>A TCP socket address.</summary>
    public static Address TcpAddress(string ip, int port) => new()
    {
        SocketAddress = new SocketAddress { Address = ip, PortValue = (uint)port, Protocol = SocketAddress.Types.Protocol.Tcp },
    };

    /// <summary>A network filter with a typed config.</summary>
    public static Filter NetworkFilter(string name, IMessage config) => new() { Name = name, TypedConfig = Any.Pack(config) };

    /// <summary>A <c>tcp_proxy</c> filter to <paramref name="cluster"/> with istiod's stat prefix (the cluster's name
    /// unless said otherwise).</summary>
    public static Filter TcpProxyFilter(string cluster, string? statPrefix = null) =>
        NetworkFilter(TcpProxyName, new TcpProxy { StatPrefix = statPrefix ?? cluster, Cluster = cluster });

    /// <summary>The cluster a chain's <c>tcp_proxy</c> sends to, or null when it has none.</summary>
    public static string? TcpProxyCluster(FilterChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var filter = chain.Filters.FirstOrDefault(f => f.Name == TcpProxyName);
        return filter?.TypedConfig.Unpack<TcpProxy>().Cluster;
    }

    /// <summary>A listener filter with a typed config.</summary>
    public static ListenerFilter ListenerFilter(string name, IMessage config, ListenerFilterChainMatchPredicate? disabled = null)
    {
        var filter = new ListenerFilter { Name = name, TypedConfig = Any.Pack(config) };
        if (disabled is not null)
        {
            filter.FilterDisabled = disabled;
        }
        return filter;
    }

    /// <summary><c>original_dst</c>.</summary>
    public static ListenerFilter OriginalDstFilter() => ListenerFilter(OriginalDstName, new OriginalDst());

    /// <summary><c>tls_inspector</c>, disabled where <paramref name="disabled"/> says.</summary>
    public static ListenerFilter TlsInspectorFilter(ListenerFilterChainMatchPredicate? disabled = null) =>
        ListenerFilter(TlsInspectorName, new TlsInspector(), disabled);

    /// <summary><c>http_inspector</c>, disabled where <paramref name="disabled"/> says.</summary>
    public static ListenerFilter HttpInspectorFilter(ListenerFilterChainMatchPredicate? disabled = null) =>
        ListenerFilter(HttpInspectorName, new HttpInspector(), disabled);

    /// <summary>RDS over ADS as istiod configures it: <c>initial_fetch_timeout: 0s</c>, API version V3.</summary>
    public static Rds Rds(string routeName) => new()
    {
        RouteConfigName = routeName,
        ConfigSource = new ConfigSource
        {
            Ads = new AggregatedConfigSource(),
            InitialFetchTimeout = new Duration(),
            ResourceApiVersion = ApiVersion.V3,
        },
    };

    /// <summary>
    /// An HTTP connection manager as istiod builds one: codec AUTO, <paramref name="statPrefix"/>, path normalisation
    /// of MeshConfig's DEFAULT (<c>normalize_path: true</c>, escaped slashes kept unchanged), <c>use_remote_address</c>
    /// only on gateways, websocket upgrades, <c>stream_idle_timeout: 0s</c>, and the HTTP filters in istiod's order
    /// restricted to those MeshHost has: the RBAC filters (DENY then ALLOW) when an AuthorizationPolicy applies, then
    /// fault, CORS and the router, always last (gRPC clients and python grpcio rely on that).
    /// Either <paramref name="rds"/> or <paramref name="routeConfig"/> (inline) is given.
    /// </summary>
    public static Hcm BuildHttpConnectionManager(ListenerClass listenerClass, string statPrefix, string? rds,
        RouteConfiguration? routeConfig, IEnumerable<HttpFilter> authorization)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        var hcm = new Hcm
        {
            CodecType = Hcm.Types.CodecType.Auto,
            StatPrefix = statPrefix,
            NormalizePath = true,
            PathWithEscapedSlashesAction = Hcm.Types.PathWithEscapedSlashesAction.KeepUnchanged,
            UseRemoteAddress = listenerClass == ListenerClass.Gateway,
            StreamIdleTimeout = new Duration(),
            UpgradeConfigs = { new Hcm.Types.UpgradeConfig { UpgradeType = "websocket" } },
        };
        if (listenerClass != ListenerClass.SidecarOutbound)
        {
            // istiod's proxy headers: inbound sidecars append and forward the client certificate details, gateways
            // sanitize and set them.
            hcm.ForwardClientCertDetails = listenerClass == ListenerClass.Gateway
                ? Hcm.Types.ForwardClientCertDetails.SanitizeSet
                : Hcm.Types.ForwardClientCertDetails.AppendForward;
            hcm.SetCurrentClientCertDetails = new Hcm.Types.SetCurrentClientCertDetails { Subject = true, Uri = true, Dns = true };
        }
        if (rds is not null)
        {
            hcm.Rds = Rds(rds);
        }
        else
        {
            hcm.RouteConfig = routeConfig ?? throw new ArgumentNullException(nameof(routeConfig), "An HTTP connection manager needs RDS or an inline route configuration.");
        }
        hcm.HttpFilters.AddRange(authorization);
        hcm.HttpFilters.Add(new HttpFilter { Name = FaultName, TypedConfig = Any.Pack(new FaultFilter()) });
        hcm.HttpFilters.Add(new HttpFilter { Name = CorsName, TypedConfig = Any.Pack(new CorsFilter()) });
        hcm.HttpFilters.Add(new HttpFilter { Name = RouterName, TypedConfig = Any.Pack(new RouterFilter()) });
        return hcm;
    }

    /// <summary>The HTTP connection manager of a chain, or null when it has none.</summary>
    public static Hcm? HttpConnectionManagerOf(FilterChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var filter = chain.Filters.FirstOrDefault(f => f.Name == HttpConnectionManagerName);
        return filter?.TypedConfig.Unpack<Hcm>();
    }

    /// <summary>A TLS transport socket for a downstream context.</summary>
    public static TransportSocket DownstreamTls(IMessage context) => new() { Name = TlsTransportSocketName, TypedConfig = Any.Pack(context) };
}
