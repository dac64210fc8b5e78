using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteConfigurationProto = Envoy.Config.Route.V3.RouteConfiguration;
using RouteProto = Envoy.Config.Route.V3;

namespace XdsServer.Testing.Interop;

/// <summary>Envoy resources for the real-client interop scenarios: gRPC-proxyless listeners with chosen
/// HTTP filters, weighted and header-matched routes, fault injection, and EDS clusters of echo backends.</summary>
public static class InteropResources
{
    /// <summary>The router filter (gRPC clients require it last in the HCM's chain).</summary>
    public static HttpFilter Router() => new()
    {
        Name = "envoy.filters.http.router",
        TypedConfig = Any.Pack(new Envoy.Extensions.Filters.Http.Router.V3.Router()),
    };

    /// <summary>The fault filter aborting <paramref name="percent"/>% of calls with <paramref name="grpcStatus"/>.</summary>
    public static HttpFilter FaultAbort(Grpc.Core.StatusCode grpcStatus, uint percent = 100) => new()
    {
        Name = "envoy.filters.http.fault",
        TypedConfig = Any.Pack(new HTTPFault
        {
            Abort = new FaultAbort
            {
                GrpcStatus = (uint)grpcStatus,
                Percentage = new Envoy.Type.V3.FractionalPercent
                {
                    Numerator = percent,
                    Denominator = Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Hundred,
                },
            },
        }),
    };

    /// <summary>An api_listener whose HCM takes its routes by RDS over ADS and runs <paramref name="filters"/>
    /// in that order (give the router last for a valid listener).</summary>
    public static ListenerProto Listener(string name, string routeName, params HttpFilter[] filters)
    {
        var hcm = new HttpConnectionManager
        {
            StatPrefix = name,
            Rds = new Rds { RouteConfigName = routeName, ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
        };
        hcm.HttpFilters.Add(filters.Length == 0 ? [Router()] : filters);
        return new ListenerProto { Name = name, ApiListener = new Envoy.Config.Listener.V3.ApiListener { ApiListener_ = Any.Pack(hcm) } };
    }

    /// <summary>A route configuration with one catch-all virtual host holding <paramref name="routes"/> in order.</summary>
    public static RouteConfigurationProto Routes(string name, params RouteProto.Route[] routes)
    {
        var host = new RouteProto.VirtualHost { Name = name + "-host" };
        host.Domains.Add("*");
        host.Routes.Add(routes);
        var config = new RouteConfigurationProto { Name = name };
        config.VirtualHosts.Add(host);
        return config;
    }

    /// <summary>Every call (prefix "/") to <paramref name="cluster"/>.</summary>
    public static RouteProto.Route ToCluster(string cluster) => new()
    {
        Match = new RouteProto.RouteMatch { Prefix = "/" },
        Route_ = new RouteProto.RouteAction { Cluster = cluster },
    };

    /// <summary>Calls whose header <paramref name="header"/> is exactly <paramref name="value"/> to <paramref name="cluster"/>.</summary>
    public static RouteProto.Route HeaderToCluster(string header, string value, string cluster)
    {
        var route = ToCluster(cluster);
        // exact_match, deprecated in Envoy for string_match, is what C-core 1.46 and 1.51 understand: they
        // reject string_match with "Invalid route header matcher specified." grpc-js reads both.
#pragma warning disable CS0612 // obsolete field, on purpose
        route.Match.Headers.Add(new RouteProto.HeaderMatcher { Name = header, ExactMatch = value });
#pragma warning restore CS0612
        return route;
    }

    /// <summary>Every call split over clusters by weight.</summary>
    public static RouteProto.Route Weighted(params (string Cluster, uint Weight)[] clusters)
    {
        var weighted = new RouteProto.WeightedCluster();
        foreach (var (cluster, weight) in clusters)
        {
            weighted.Clusters.Add(new RouteProto.WeightedCluster.Types.ClusterWeight { Name = cluster, Weight = weight });
        }

        return new RouteProto.Route
        {
            Match = new RouteProto.RouteMatch { Prefix = "/" },
            Route_ = new RouteProto.RouteAction { WeightedClusters = weighted },
        };
    }

    /// <summary>Adds an EDS cluster named <paramref name="cluster"/> and its endpoints: the given backends.</summary>
    public static SnapshotBuilder AddCluster(this SnapshotBuilder builder, string cluster, params EchoBackend[] backends)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(Fixtures.Cluster(cluster)).Add(Endpoints(cluster, backends));
    }

    /// <summary>Replaces the endpoints of <paramref name="cluster"/> with the given backends.</summary>
    public static SnapshotBuilder SetEndpoints(this SnapshotBuilder builder, string cluster, params EchoBackend[] backends)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Set(Endpoints(cluster, backends));
    }

    /// <summary>The endpoints of <paramref name="cluster"/>: the backends in one locality (zone z1) of weight 1.
    /// gRPC clients ignore a locality without a load-balancing weight.</summary>
    public static ClusterLoadAssignment Endpoints(string cluster, params EchoBackend[] backends)
    {
        var assignment = Fixtures.Endpoints(cluster, [.. backends.Select(b => b.Port)]);
        foreach (var locality in assignment.Endpoints)
        {
            locality.Locality = new Locality { Zone = "z1" };
            locality.LoadBalancingWeight = 1;
        }

        return assignment;
    }
}
