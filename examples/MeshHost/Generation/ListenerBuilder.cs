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
    /// <summary>The listeners of <paramref name="proxy"/>, in istiod's order: for a sidecar the outbound service
    /// listeners, virtualOutbound, then virtualInbound (see <see cref="OutboundListeners"/> and
    /// <see cref="InboundListener"/>); for a gateway one listener per server port (see <see cref="GatewayListeners"/>).</summary>
    public static ListenerSet Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        if (proxy.Type == ProxyType.Router)
        {
            return GatewayListeners.Build(context, proxy);
        }
        var (listeners, routes) = OutboundListeners.Build(context, proxy);
        listeners.Add(OutboundListeners.VirtualOutbound(context, proxy));
        listeners.Add(InboundListener.Build(context, proxy));
        return new ListenerSet(listeners, routes);
    }
}
