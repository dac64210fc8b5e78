using MeshHost.Model;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ClusterLoadAssignment = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;

namespace MeshHost.Generation;

/// <summary>Builds the ClusterLoadAssignment of every EDS cluster of a proxy.</summary>
public static class EndpointBuilder
{
    /// <summary>The endpoints of the EDS clusters among <paramref name="clusters"/>.</summary>
    public static IReadOnlyList<ClusterLoadAssignment> Build(PushContext context, Proxy proxy, IReadOnlyList<ClusterProto> clusters)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(clusters);
        return [];
    }
}
