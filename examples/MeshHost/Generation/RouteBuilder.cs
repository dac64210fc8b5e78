using MeshHost.Model;
using XdsServer.Discovery;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;
using VirtualHost = Envoy.Config.Route.V3.VirtualHost;

namespace MeshHost.Generation;

/// <summary>Builds route configurations: a sidecar's outbound <c>"&lt;port&gt;"</c> and a gateway's
/// <c>"http.&lt;port&gt;"</c>, from services and the VirtualServices that apply.</summary>
public static class RouteBuilder
{
    /// <summary>The route configuration named <paramref name="routeName"/> for <paramref name="proxy"/>, or null when
    /// the name means nothing for it.</summary>
    public static RouteConfiguration? Build(PushContext context, Proxy proxy, string routeName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(routeName);
        return new RouteConfiguration { Name = routeName };
    }

    /// <summary>The virtual host of one service port as <paramref name="proxy"/> sees it: istiod's domains and the
    /// routes of the VirtualService that applies (or the default route to <c>outbound|port||host</c>). Used by the
    /// sidecar route configurations and by the proxyless gRPC generator.</summary>
    public static VirtualHost BuildVirtualHost(PushContext context, Proxy proxy, DiscoveredService service, ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(port);
        return new VirtualHost { Name = MeshNames.VirtualHost(service.Hostname, port.Port), Domains = { service.Hostname } };
    }
}
