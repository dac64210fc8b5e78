using Envoy.Config.Core.V3;
using Google.Protobuf;
using XdsServer.Cache.Internal;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ClusterLoadAssignmentProto = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteConfigurationProto = Envoy.Config.Route.V3.RouteConfiguration;
using RuntimeProto = Envoy.Service.Runtime.V3.Runtime;
using ScopedRouteProto = Envoy.Config.Route.V3.ScopedRouteConfiguration;
using SecretProto = Envoy.Extensions.TransportSockets.Tls.V3.Secret;
using VirtualHostProto = Envoy.Config.Route.V3.VirtualHost;

namespace XdsServer.Cache;

/// <summary>The Envoy xDS v3 resource types, with their names, semantics and ADS order.</summary>
public static class EnvoyResourceTypes
{
    /// <summary>Secrets (SDS): pushed first, before anything that references them.</summary>
    public static ResourceType Secret { get; } = new()
    {
        TypeUrl = TypeUrls.Secret, ShortName = "Secret", Descriptor = SecretProto.Descriptor,
        NameOf = m => ((SecretProto)m).Name, AdsOrder = 0, Sensitive = true,
    };

    /// <summary>Runtime layers (RTDS).</summary>
    public static ResourceType Runtime { get; } = new()
    {
        TypeUrl = TypeUrls.Runtime, ShortName = "Runtime", Descriptor = RuntimeProto.Descriptor,
        NameOf = m => ((RuntimeProto)m).Name, AdsOrder = 1,
    };

    /// <summary>Extension configurations (ECDS), before the listeners whose filters use them.</summary>
    public static ResourceType ExtensionConfig { get; } = new()
    {
        TypeUrl = TypeUrls.ExtensionConfig, ShortName = "ExtensionConfig", Descriptor = TypedExtensionConfig.Descriptor,
        NameOf = m => ((TypedExtensionConfig)m).Name, AdsOrder = 2,
    };

    /// <summary>Clusters (CDS): full state in SotW, wildcard-capable.</summary>
    public static ResourceType Cluster { get; } = new()
    {
        TypeUrl = TypeUrls.Cluster, ShortName = "Cluster", Descriptor = ClusterProto.Descriptor,
        NameOf = m => ((ClusterProto)m).Name, FullStateInSotw = true, SupportsLegacyWildcard = true, AdsOrder = 3,
        ReferencesOf = EnvoyReferences.OfCluster,
    };

    /// <summary>Cluster load assignments (EDS), after their clusters.</summary>
    public static ResourceType ClusterLoadAssignment { get; } = new()
    {
        TypeUrl = TypeUrls.ClusterLoadAssignment, ShortName = "ClusterLoadAssignment",
        Descriptor = ClusterLoadAssignmentProto.Descriptor,
        NameOf = m => ((ClusterLoadAssignmentProto)m).ClusterName, AdsOrder = 4,
    };

    /// <summary>Listeners (LDS): full state in SotW, wildcard-capable, after clusters and endpoints.</summary>
    public static ResourceType Listener { get; } = new()
    {
        TypeUrl = TypeUrls.Listener, ShortName = "Listener", Descriptor = ListenerProto.Descriptor,
        NameOf = m => ((ListenerProto)m).Name, FullStateInSotw = true, SupportsLegacyWildcard = true, AdsOrder = 5,
        ReferencesOf = EnvoyReferences.OfListener,
    };

    /// <summary>Scoped route configurations (SRDS): Envoy subscribes to them with a wildcard.</summary>
    public static ResourceType ScopedRouteConfiguration { get; } = new()
    {
        TypeUrl = TypeUrls.ScopedRouteConfiguration, ShortName = "ScopedRouteConfiguration",
        Descriptor = ScopedRouteProto.Descriptor, NameOf = m => ((ScopedRouteProto)m).Name,
        SupportsLegacyWildcard = true, AdsOrder = 6, ReferencesOf = EnvoyReferences.OfScopedRoute,
    };

    /// <summary>Route configurations (RDS), after the listeners that name them.</summary>
    public static ResourceType RouteConfiguration { get; } = new()
    {
        TypeUrl = TypeUrls.RouteConfiguration, ShortName = "RouteConfiguration",
        Descriptor = RouteConfigurationProto.Descriptor, NameOf = m => ((RouteConfigurationProto)m).Name,
        AdsOrder = 7, ReferencesOf = EnvoyReferences.OfRouteConfiguration,
    };

    /// <summary>Virtual hosts (VHDS, delta only), after their route configurations.</summary>
    public static ResourceType VirtualHost { get; } = new()
    {
        TypeUrl = TypeUrls.VirtualHost, ShortName = "VirtualHost", Descriptor = VirtualHostProto.Descriptor,
        NameOf = m => ((VirtualHostProto)m).Name, AdsOrder = 8,
    };

    /// <summary>All of the above, in ADS order.</summary>
    public static IReadOnlyList<ResourceType> All { get; } =
    [
        Secret, Runtime, ExtensionConfig, Cluster, ClusterLoadAssignment, Listener, ScopedRouteConfiguration,
        RouteConfiguration, VirtualHost,
    ];
}
