using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteConfigurationProto = Envoy.Config.Route.V3.RouteConfiguration;
using ScopedRouteProto = Envoy.Config.Route.V3.ScopedRouteConfiguration;
using AggregateClusterConfig = Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig;

namespace XdsServer.Cache.Internal;

/// <summary>
/// Reads the references between Envoy resources: Listener → RouteConfiguration (RDS), ExtensionConfig (ECDS)
/// and Secret (SDS); Cluster → ClusterLoadAssignment (EDS) and Secret; ScopedRouteConfiguration →
/// RouteConfiguration; RouteConfiguration → Cluster (soft).
/// </summary>
internal static class EnvoyReferences
{
    private static readonly string HcmTypeUrl = TypeUrls.Prefix + Hcm.Descriptor.FullName;
    private static readonly string DownstreamTlsTypeUrl = TypeUrls.Prefix + DownstreamTlsContext.Descriptor.FullName;
    private static readonly string UpstreamTlsTypeUrl = TypeUrls.Prefix + UpstreamTlsContext.Descriptor.FullName;
    private static readonly string AggregateTypeUrl = TypeUrls.Prefix + AggregateClusterConfig.Descriptor.FullName;

    public static IReadOnlyList<ResourceReference> OfListener(IMessage message)
    {
        var listener = (ListenerProto)message;
        var refs = new List<ResourceReference>();
        foreach (var chain in listener.FilterChains)
        {
            AddFilterChain(chain, refs);
        }

        if (listener.DefaultFilterChain is { } defaultChain)
        {
            AddFilterChain(defaultChain, refs);
        }

        if (listener.ApiListener?.ApiListener_ is { } api && api.TypeUrl == HcmTypeUrl)
        {
            AddHcm(api.ParseAs<Hcm>(), refs);
        }

        return refs;
    }

    public static IReadOnlyList<ResourceReference> OfCluster(IMessage message)
    {
        var cluster = (ClusterProto)message;
        var refs = new List<ResourceReference>();
        if (cluster.ClusterDiscoveryTypeCase == ClusterProto.ClusterDiscoveryTypeOneofCase.Type
            && cluster.Type == ClusterProto.Types.DiscoveryType.Eds)
        {
            // The endpoint resource of an EDS cluster is eds_cluster_config.service_name, or the cluster name.
            var edsName = cluster.EdsClusterConfig is { ServiceName.Length: > 0 } eds ? eds.ServiceName : cluster.Name;
            refs.Add(new ResourceReference(TypeUrls.ClusterLoadAssignment, edsName,
                IsServedHere(cluster.EdsClusterConfig?.EdsConfig, whenUnset: true)));
        }

        if (cluster.ClusterDiscoveryTypeCase == ClusterProto.ClusterDiscoveryTypeOneofCase.ClusterType
            && cluster.ClusterType.TypedConfig is { } typed && typed.TypeUrl == AggregateTypeUrl)
        {
            foreach (var child in typed.ParseAs<AggregateClusterConfig>().Clusters)
            {
                refs.Add(new ResourceReference(TypeUrls.Cluster, child, Required: false));
            }
        }

        AddTransportSocket(cluster.TransportSocket, UpstreamTlsTypeUrl, refs);
        foreach (var match in cluster.TransportSocketMatches)
        {
            AddTransportSocket(match.TransportSocket, UpstreamTlsTypeUrl, refs);
        }

        return refs;
    }

    public static IReadOnlyList<ResourceReference> OfRouteConfiguration(IMessage message)
    {
        var routeConfiguration = (RouteConfigurationProto)message;
        var refs = new List<ResourceReference>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var host in routeConfiguration.VirtualHosts)
        {
            foreach (var route in host.Routes)
            {
                if (route.Route_ is not { } action)
                {
                    continue;
                }

                if (action.Cluster is { Length: > 0 } cluster && seen.Add(cluster))
                {
                    refs.Add(new ResourceReference(TypeUrls.Cluster, cluster, Required: false));
                }

                if (action.WeightedClusters is { } weighted)
                {
                    foreach (var w in weighted.Clusters)
                    {
                        if (w.Name.Length > 0 && seen.Add(w.Name))
                        {
                            refs.Add(new ResourceReference(TypeUrls.Cluster, w.Name, Required: false));
                        }
                    }
                }
            }
        }

        return refs;
    }

    public static IReadOnlyList<ResourceReference> OfScopedRoute(IMessage message)
    {
        var scoped = (ScopedRouteProto)message;
        return scoped.RouteConfigurationName.Length > 0
            ? [new ResourceReference(TypeUrls.RouteConfiguration, scoped.RouteConfigurationName)]
            : [];
    }

    private static void AddFilterChain(Envoy.Config.Listener.V3.FilterChain chain, List<ResourceReference> refs)
    {
        foreach (var filter in chain.Filters)
        {
            if (filter.TypedConfig is { } typed && typed.TypeUrl == HcmTypeUrl)
            {
                AddHcm(typed.ParseAs<Hcm>(), refs);
            }
        }

        AddTransportSocket(chain.TransportSocket, DownstreamTlsTypeUrl, refs);
    }

    private static void AddHcm(Hcm hcm, List<ResourceReference> refs)
    {
        if (hcm.Rds is { } rds && rds.RouteConfigName.Length > 0)
        {
            // A route configuration is named by the HttpConnectionManager's rds.route_config_name.
            refs.Add(new ResourceReference(TypeUrls.RouteConfiguration, rds.RouteConfigName,
                IsServedHere(rds.ConfigSource, whenUnset: true)));
        }

        if (hcm.ScopedRoutes is { ScopedRouteConfigurationsList: { } inlineScopes } scopedRoutes)
        {
            foreach (var scope in inlineScopes.ScopedRouteConfigurations)
            {
                if (scope.RouteConfigurationName.Length > 0)
                {
                    refs.Add(new ResourceReference(TypeUrls.RouteConfiguration, scope.RouteConfigurationName,
                        IsServedHere(scopedRoutes.RdsConfigSource, whenUnset: true)));
                }
            }
        }

        foreach (var filter in hcm.HttpFilters)
        {
            if (filter.ConfigDiscovery is { } discovery)
            {
                // ECDS: the extension config resource is named by the filter.
                refs.Add(new ResourceReference(TypeUrls.ExtensionConfig, filter.Name,
                    IsServedHere(discovery.ConfigSource, whenUnset: false)));
            }
        }
    }

    private static void AddTransportSocket(TransportSocket? socket, string expectedTypeUrl, List<ResourceReference> refs)
    {
        if (socket?.TypedConfig is not { } typed || typed.TypeUrl != expectedTypeUrl)
        {
            return;
        }

        var common = expectedTypeUrl == DownstreamTlsTypeUrl
            ? typed.ParseAs<DownstreamTlsContext>().CommonTlsContext
            : typed.ParseAs<UpstreamTlsContext>().CommonTlsContext;
        if (common is null)
        {
            return;
        }

        foreach (var sds in common.TlsCertificateSdsSecretConfigs)
        {
            AddSecret(sds, refs);
        }

        AddSecret(common.ValidationContextSdsSecretConfig, refs);
        AddSecret(common.CombinedValidationContext?.ValidationContextSdsSecretConfig, refs);
    }

    private static void AddSecret(SdsSecretConfig? sds, List<ResourceReference> refs)
    {
        // A secret without sds_config is static (bootstrap); one fetched from another server is not ours.
        if (sds is { Name.Length: > 0, SdsConfig: not null })
        {
            refs.Add(new ResourceReference(TypeUrls.Secret, sds.Name, IsServedHere(sds.SdsConfig, whenUnset: false)));
        }
    }

    /// <summary>True when a config source points back at this server: ADS, or "self".</summary>
    private static bool IsServedHere(ConfigSource? source, bool whenUnset) => source switch
    {
        null => whenUnset,
        { ConfigSourceSpecifierCase: ConfigSource.ConfigSourceSpecifierOneofCase.Ads } => true,
        { ConfigSourceSpecifierCase: ConfigSource.ConfigSourceSpecifierOneofCase.Self } => true,
        _ => false,
    };

    /// <summary>Unpacks a typed_config, or throws a message that names its type.</summary>
    private static T ParseAs<T>(this Any any)
        where T : IMessage<T>, new()
    {
        try
        {
            return any.Unpack<T>();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"typed_config of type {any.TypeUrl} cannot be parsed: {e.Message}", e);
        }
    }
}
