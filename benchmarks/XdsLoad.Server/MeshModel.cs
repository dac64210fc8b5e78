using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using EndpointProto = Envoy.Config.Endpoint.V3.Endpoint;
using RouteProto = Envoy.Config.Route.V3.Route;
using RouterFilter = Envoy.Extensions.Filters.Http.Router.V3.Router;

namespace XdsLoad.Server;

/// <summary>The size of the simulated mesh (body of <c>POST /setup</c>).</summary>
internal sealed record MeshShape
{
    public int Services { get; init; } = 1000;

    public int EndpointsPerService { get; init; } = 10;

    public int Listeners { get; init; } = 100;

    public int RouteConfigs { get; init; } = 100;

    public int ClustersPerRoute { get; init; } = 10;
}

/// <summary>
/// Builds the resources of the <c>mesh-10k</c> shape and derives later snapshots from earlier ones. Both
/// server modes use it, so the floor server sends byte-identical resources with identical versions.
/// Not thread-safe: the control API serializes calls.
/// </summary>
internal sealed class MeshModel(MeshShape shape)
{
    private static readonly ConfigSource Ads = new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };
    private int _cursor;

    public MeshShape Shape { get; } = shape;

    /// <summary>Generation of the last snapshot built (0 = initial).</summary>
    public int Generation { get; private set; }

    public Snapshot BuildInitial()
    {
        Generation = 0;
        _cursor = 0;
        var builder = Snapshot.CreateBuilder();
        for (var i = 0; i < Shape.Services; i++)
        {
            builder.Add(Cluster(i));
            builder.Add(Assignment(i, 0));
        }

        for (var j = 0; j < Shape.Listeners; j++)
        {
            builder.Add(Listener(j));
        }

        for (var j = 0; j < Shape.RouteConfigs; j++)
        {
            builder.Add(Routes(j));
        }

        return builder.Build();
    }

    /// <summary>The next snapshot with <paramref name="fraction"/> of the load assignments moved (at least one),
    /// taken round-robin so successive updates touch different services. Only what changed is <c>Set</c>.</summary>
    public Snapshot Churn(Snapshot current, double fraction)
    {
        var count = Math.Clamp((int)Math.Round(Shape.Services * fraction), 1, Shape.Services);
        Generation++;
        var builder = current.ToBuilder();
        for (var n = 0; n < count; n++)
        {
            builder.Set(Assignment(_cursor, Generation));
            _cursor = (_cursor + 1) % Shape.Services;
        }

        return builder.Build();
    }

    /// <summary>The next snapshot with every load assignment moved.</summary>
    public Snapshot FullChange(Snapshot current)
    {
        Generation++;
        var builder = current.ToBuilder();
        for (var i = 0; i < Shape.Services; i++)
        {
            builder.Set(Assignment(i, Generation));
        }

        return builder.Build();
    }

    /// <summary>The next snapshot with cluster <c>svc-0</c> made invalid for Envoy (an EDS cluster without
    /// eds_config, which Envoy rejects but the snapshot's consistency check does not look at): every proxy must
    /// NACK it. A self-test of NACK detection.</summary>
    public Snapshot BadCluster(Snapshot current)
    {
        Generation++;
        var cluster = Cluster(0);
        cluster.EdsClusterConfig = null;
        return current.ToBuilder().Set(cluster).Build();
    }

    private static string ServiceName(int i) => $"svc-{i}";

    private static ClusterProto Cluster(int i) => new()
    {
        Name = ServiceName(i),
        Type = ClusterProto.Types.DiscoveryType.Eds,
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        EdsClusterConfig = new ClusterProto.Types.EdsClusterConfig { EdsConfig = Ads },
    };

    /// <summary>Endpoints of service <paramref name="i"/> at <paramref name="generation"/>: the addresses are
    /// fixed per service, the ports move with the generation, so every generation has new content.</summary>
    private ClusterLoadAssignment Assignment(int i, int generation)
    {
        var locality = new LocalityLbEndpoints { Locality = new Locality { Zone = "z1" }, LoadBalancingWeight = 1 };
        for (var k = 0; k < Shape.EndpointsPerService; k++)
        {
            var address = $"10.{(i >> 8) & 255}.{i & 255}.{(k % 250) + 1}";
            var port = (uint)(1024 + (((generation * 131) + k) % 60000));
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new EndpointProto
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = address, PortValue = port } },
                },
            });
        }

        return new ClusterLoadAssignment { ClusterName = ServiceName(i), Endpoints = { locality } };
    }

    private static Listener Listener(int j)
    {
        var hcm = new HttpConnectionManager
        {
            StatPrefix = $"listener-{j}",
            Rds = new Rds { RouteConfigName = $"route-{j}", ConfigSource = Ads },
        };
        hcm.HttpFilters.Add(new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new RouterFilter()) });
        var chain = new FilterChain();
        chain.Filters.Add(new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) });
        return new Listener
        {
            Name = $"listener-{j}",
            Address = new Address { SocketAddress = new SocketAddress { Address = "0.0.0.0", PortValue = (uint)(10000 + j) } },
            FilterChains = { chain },
        };
    }

    /// <summary>Route configuration <paramref name="j"/>: one virtual host per cluster it routes to.</summary>
    private RouteConfiguration Routes(int j)
    {
        var config = new RouteConfiguration { Name = $"route-{j}" };
        for (var k = 0; k < Shape.ClustersPerRoute; k++)
        {
            var cluster = ServiceName(((j * Shape.ClustersPerRoute) + k) % Shape.Services);
            var host = new VirtualHost { Name = cluster, Domains = { $"{cluster}.mesh", $"{cluster}.mesh:80" } };
            host.Routes.Add(new RouteProto
            {
                Match = new RouteMatch { Prefix = "/" },
                Route_ = new RouteAction { Cluster = cluster, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(15)) },
            });
            config.VirtualHosts.Add(host);
        }

        return config;
    }
}
