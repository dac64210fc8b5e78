using MeshHost.Model;
using XdsServer.Discovery;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace MeshHost.Generation;

/// <summary>Builds a proxy's clusters: outbound per visible service port and subset, inbound per own service port,
/// and the fixed ones (BlackHoleCluster, PassthroughCluster, InboundPassthroughCluster).</summary>
public static class ClusterBuilder
{
    /// <summary>The clusters of <paramref name="proxy"/>.</summary>
    public static IReadOnlyList<ClusterProto> Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        return [];
    }

    /// <summary>The outbound clusters of one service port as <paramref name="proxy"/> sees it: the default
    /// <c>outbound|port||host</c> and one per DestinationRule subset. Used by <see cref="Build"/> and by the proxyless
    /// gRPC generator.</summary>
    public static IReadOnlyList<ClusterProto> BuildOutbound(PushContext context, Proxy proxy, DiscoveredService service, ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(port);
        return [];
    }
}
