using MeshHost.Model;
using XdsServer.Cache;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace MeshHost.Generation;

/// <summary>Generates the whole configuration of one proxy from a <see cref="PushContext"/>: clusters, their
/// endpoints, listeners and the route configurations they name, as one consistent snapshot.</summary>
/// <remarks>The overloads taking a <see cref="ResourceCache"/> produce the same resources (same names and bytes) as
/// <see cref="Generate(PushContext, Proxy)"/>, but shared between proxies and pushes, and can regenerate part of a
/// proxy's previous snapshot (<see cref="Update"/>): the resource sets they leave alone stay the very same
/// <see cref="ResourceSet"/> instances, so the snapshot cache sends nothing for them.</remarks>
public static class MeshGenerator
{
    private static readonly string[] EnvoyTypes =
        [TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment, TypeUrls.Listener, TypeUrls.RouteConfiguration];

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

    /// <summary>The snapshot of <paramref name="proxy"/> as <see cref="Generate(PushContext, Proxy)"/> makes it, with
    /// resources shared through <paramref name="cache"/> (whose context is used).</summary>
    public static Snapshot Generate(ResourceCache cache, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(proxy);
        var context = cache.Context;
        if (proxy.IsProxylessGrpc)
        {
            return cache.Intern(GrpcGenerator.Generate(context, proxy));
        }
        var builder = Snapshot.CreateBuilder();
        foreach (var type in EnvoyTypes)
        {
            builder.Include(type);
        }
        var variant = cache.Variant(proxy);
        var clusters = Clusters(cache, proxy, variant);
        foreach (var cluster in clusters)
        {
            builder.Add(cluster);
        }
        foreach (var cluster in clusters)
        {
            if (ResourceCache.IsEds((ClusterProto)cluster.Message, out var serviceName))
            {
                builder.Add(cache.Assignment(proxy, serviceName, variant));
            }
        }
        AddListenersAndRoutes(cache, proxy, builder);
        return builder.Build();
    }

    /// <summary>
    /// <paramref name="previous"/> (what <paramref name="proxy"/> was last given) updated for <paramref name="push"/>:
    /// a full push regenerates everything, <see cref="PushTypes.Routes"/> only the listeners and route
    /// configurations, <see cref="PushTypes.Endpoints"/> only the ClusterLoadAssignments of the EDS clusters of the
    /// changed hosts. Every set left alone, and every set that comes out equal, is the previous instance.
    /// </summary>
    public static Snapshot Update(ResourceCache cache, Proxy proxy, Snapshot previous, ProxyPush push)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(push);
        if (push.Types.HasFlag(PushTypes.Full) || (proxy.IsProxylessGrpc && push.Types != PushTypes.None))
        {
            return Merge(previous, Generate(cache, proxy));
        }
        var builder = previous.ToBuilder();
        if (push.Types.HasFlag(PushTypes.Routes))
        {
            var fresh = Snapshot.CreateBuilder().Include(TypeUrls.Listener).Include(TypeUrls.RouteConfiguration);
            AddListenersAndRoutes(cache, proxy, fresh);
            var built = fresh.Build();
            Replace(builder, previous.GetResources(TypeUrls.Listener), built.GetResources(TypeUrls.Listener)!);
            Replace(builder, previous.GetResources(TypeUrls.RouteConfiguration), built.GetResources(TypeUrls.RouteConfiguration)!);
        }
        if (push.Types.HasFlag(PushTypes.Endpoints) && previous.GetResources(TypeUrls.Cluster) is { } clusters)
        {
            var variant = cache.Variant(proxy);
            foreach (var cluster in clusters)
            {
                if (ResourceCache.IsEds((ClusterProto)cluster.Message, out var serviceName)
                    && (push.EndpointHosts is null || push.EndpointHosts.Contains(ResourceCache.HostOf(serviceName))))
                {
                    builder.Set(cache.Assignment(proxy, serviceName, variant));
                }
            }
        }
        return builder.Build();
    }

    /// <summary><paramref name="next"/> built on <paramref name="previous"/>: a set whose resources are all the same
    /// versions stays the previous instance.</summary>
    public static Snapshot Merge(Snapshot previous, Snapshot next)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(next);
        var builder = previous.ToBuilder();
        foreach (var set in previous.ResourceSets)
        {
            if (next.GetResources(set.TypeUrl) is null)
            {
                builder.Exclude(set.TypeUrl);
            }
        }
        foreach (var set in next.ResourceSets)
        {
            Replace(builder, previous.GetResources(set.TypeUrl), set);
        }
        return builder.Build();
    }

    /// <summary>Makes <paramref name="builder"/>'s set of the type hold exactly <paramref name="set"/>'s resources:
    /// names of <paramref name="before"/> that are gone are removed, the rest set (a no-op for an equal version).</summary>
    private static void Replace(SnapshotBuilder builder, ResourceSet? before, ResourceSet set)
    {
        var target = builder.For(set.TypeUrl);
        if (before is not null)
        {
            foreach (var name in before.Names)
            {
                if (!set.Contains(name))
                {
                    target.Remove(name);
                }
            }
        }
        foreach (var resource in set)
        {
            target.Set(resource);
        }
    }

    private static List<XdsResource> Clusters(ResourceCache cache, Proxy proxy, string variant)
    {
        var context = cache.Context;
        var clusters = new List<XdsResource>();
        foreach (var service in context.VisibleServices(proxy))
        {
            foreach (var port in service.Ports)
            {
                clusters.AddRange(cache.OutboundClusters(proxy, service, port, variant));
            }
        }
        clusters.Add(cache.Intern(ClusterBuilder.BlackHoleCluster(context)));
        if (proxy.Type == ProxyType.Sidecar)
        {
            clusters.Add(cache.Intern(ClusterBuilder.PassthroughCluster(context)));
            clusters.AddRange(ClusterBuilder.BuildInbound(context, proxy).Select(cache.Intern));
            clusters.Add(cache.Intern(ClusterBuilder.InboundPassthroughCluster(context, proxy)));
        }
        // As ClusterBuilder.Build: the first of a name wins.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. clusters.Where(c => seen.Add(c.Name))];
    }

    private static void AddListenersAndRoutes(ResourceCache cache, Proxy proxy, SnapshotBuilder builder)
    {
        var listeners = ListenerBuilder.Build(cache.Context, proxy);
        foreach (var listener in listeners.Listeners)
        {
            builder.Add(cache.Intern(listener));
        }
        foreach (var name in listeners.RouteNames.Distinct(StringComparer.Ordinal))
        {
            if (RouteBuilder.Build(cache.Context, proxy, name) is { } route)
            {
                builder.Add(cache.Intern(route));
            }
        }
    }
}
