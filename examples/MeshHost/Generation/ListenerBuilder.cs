using MeshHost.Model;
using ListenerProto = Envoy.Config.Listener.V3.Listener;

namespace MeshHost.Generation;

/// <summary>A proxy's listeners, and the route configurations (RDS names) they refer to.</summary>
/// <param name="Listeners">The listeners.</param>
/// <param name="RouteNames">The RDS route configuration names the listeners' HTTP connection managers use.</param>
public sealed record ListenerSet(IReadOnlyList<ListenerProto> Listeners, IReadOnlyList<string> RouteNames);

/// <summary>Builds a proxy's listeners: sidecar (virtualOutbound, virtualInbound, outbound per port) or gateway.</summary>
public static class ListenerBuilder
{
    /// <summary>The listeners of <paramref name="proxy"/>.</summary>
    public static ListenerSet Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        return new ListenerSet([], []);
    }
}
