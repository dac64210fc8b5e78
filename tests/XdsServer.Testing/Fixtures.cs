using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteConfigurationProto = Envoy.Config.Route.V3.RouteConfiguration;
using SecretProto = Envoy.Extensions.TransportSockets.Tls.V3.Secret;

namespace XdsServer.Testing;

/// <summary>Small, valid Envoy resources for tests.</summary>
public static class Fixtures
{
    public static Node Node(string id) => new() { Id = id, Cluster = "test" };

    /// <summary>A gRPC-proxyless style listener: api_listener → HCM → RDS over ADS → router last.</summary>
    public static ListenerProto Listener(string name, string routeName, string tag = "")
    {
        var hcm = new HttpConnectionManager
        {
            StatPrefix = name + tag,
            Rds = new Rds { RouteConfigName = routeName, ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
        };
        hcm.HttpFilters.Add(new HttpFilter
        {
            Name = "envoy.filters.http.router",
            TypedConfig = Any.Pack(new global::Envoy.Extensions.Filters.Http.Router.V3.Router()),
        });
        return new ListenerProto { Name = name, ApiListener = new global::Envoy.Config.Listener.V3.ApiListener { ApiListener_ = Any.Pack(hcm) } };
    }

    public static RouteConfigurationProto Route(string name, string cluster, string tag = "")
    {
        var route = new RouteConfigurationProto { Name = name };
        var host = new global::Envoy.Config.Route.V3.VirtualHost { Name = "all" + tag };
        host.Domains.Add("*");
        host.Routes.Add(new global::Envoy.Config.Route.V3.Route
        {
            Match = new global::Envoy.Config.Route.V3.RouteMatch { Prefix = "/" },
            Route_ = new global::Envoy.Config.Route.V3.RouteAction { Cluster = cluster },
        });
        route.VirtualHosts.Add(host);
        return route;
    }

    public static ClusterProto Cluster(string name, string? serviceName = null, string? secret = null)
    {
        var cluster = new ClusterProto
        {
            Name = name,
            Type = ClusterProto.Types.DiscoveryType.Eds,
            EdsClusterConfig = new ClusterProto.Types.EdsClusterConfig
            {
                EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() },
                ServiceName = serviceName ?? string.Empty,
            },
        };
        if (secret is not null)
        {
            var tls = new UpstreamTlsContext { CommonTlsContext = new CommonTlsContext() };
            tls.CommonTlsContext.TlsCertificateSdsSecretConfigs.Add(new SdsSecretConfig
            {
                Name = secret,
                SdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() },
            });
            cluster.TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(tls) };
        }

        return cluster;
    }

    public static ClusterLoadAssignment Endpoints(string name, params int[] ports)
    {
        var cla = new ClusterLoadAssignment { ClusterName = name };
        var locality = new LocalityLbEndpoints();
        foreach (var port in ports)
        {
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Endpoint
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = (uint)port } },
                },
            });
        }

        cla.Endpoints.Add(locality);
        return cla;
    }

    public static SecretProto Secret(string name) => new() { Name = name, TlsCertificate = new TlsCertificate() };
}
