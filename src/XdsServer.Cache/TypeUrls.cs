namespace XdsServer.Cache;

/// <summary>Type URLs of the Envoy xDS v3 resource types.</summary>
public static class TypeUrls
{
    /// <summary>The prefix every protobuf <c>Any</c> type URL carries.</summary>
    public const string Prefix = "type.googleapis.com/";

    /// <summary><c>envoy.config.listener.v3.Listener</c> (LDS).</summary>
    public const string Listener = Prefix + "envoy.config.listener.v3.Listener";

    /// <summary><c>envoy.config.route.v3.RouteConfiguration</c> (RDS).</summary>
    public const string RouteConfiguration = Prefix + "envoy.config.route.v3.RouteConfiguration";

    /// <summary><c>envoy.config.route.v3.ScopedRouteConfiguration</c> (SRDS).</summary>
    public const string ScopedRouteConfiguration = Prefix + "envoy.config.route.v3.ScopedRouteConfiguration";

    /// <summary><c>envoy.config.route.v3.VirtualHost</c> (VHDS).</summary>
    public const string VirtualHost = Prefix + "envoy.config.route.v3.VirtualHost";

    /// <summary><c>envoy.config.cluster.v3.Cluster</c> (CDS).</summary>
    public const string Cluster = Prefix + "envoy.config.cluster.v3.Cluster";

    /// <summary><c>envoy.config.endpoint.v3.ClusterLoadAssignment</c> (EDS).</summary>
    public const string ClusterLoadAssignment = Prefix + "envoy.config.endpoint.v3.ClusterLoadAssignment";

    /// <summary><c>envoy.extensions.transport_sockets.tls.v3.Secret</c> (SDS).</summary>
    public const string Secret = Prefix + "envoy.extensions.transport_sockets.tls.v3.Secret";

    /// <summary><c>envoy.service.runtime.v3.Runtime</c> (RTDS).</summary>
    public const string Runtime = Prefix + "envoy.service.runtime.v3.Runtime";

    /// <summary><c>envoy.config.core.v3.TypedExtensionConfig</c> (ECDS).</summary>
    public const string ExtensionConfig = Prefix + "envoy.config.core.v3.TypedExtensionConfig";
}
