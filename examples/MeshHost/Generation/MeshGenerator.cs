using MeshHost.Model;
using XdsServer.Cache;

namespace MeshHost.Generation;

/// <summary>Generates the whole configuration of one proxy from a <see cref="PushContext"/>: clusters, their
/// endpoints, listeners and the route configurations they name, as one consistent snapshot.</summary>
public static class MeshGenerator
{
    /// <summary>The snapshot of <paramref name="proxy"/>: a proxyless gRPC client's (<see cref="GrpcGenerator"/>)
    /// when its node asks for one (<c>GENERATOR: grpc</c>), else an Envoy's.</summary>
    public static Snapshot Generate(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        if (proxy.IsProxylessGrpc)
        {
            return GrpcGenerator.Generate(context, proxy);
        }
        var clusters = ClusterBuilder.Build(context, proxy);
        var endpoints = EndpointBuilder.Build(context, proxy, clusters);
        var listeners = ListenerBuilder.Build(context, proxy);
        var builder = Snapshot.CreateBuilder()
            .Include(TypeUrls.Cluster).Include(TypeUrls.ClusterLoadAssignment)
            .Include(TypeUrls.Listener).Include(TypeUrls.RouteConfiguration)
            .Add(clusters).Add(endpoints).Add(listeners.Listeners);
        foreach (var name in listeners.RouteNames.Distinct(StringComparer.Ordinal))
        {
            if (RouteBuilder.Build(context, proxy, name) is { } route)
            {
                builder.Add(route);
            }
        }
        return builder.Build();
    }
}
