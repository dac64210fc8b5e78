using MeshHost.Model;
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
}
