using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

public sealed partial class PushContext
{
    /// <summary>The services a proxy may reach (and so gets clusters, listeners and routes for): those exported to
    /// its namespace (<c>exportTo</c>: empty or <c>*</c> = all, <c>.</c> = own namespace, <c>~</c> = none), narrowed
    /// by the Sidecar that applies to it (egress hosts).</summary>
    public IReadOnlyList<DiscoveredService> VisibleServices(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        return [.. Services.Where(s => IsExportedTo(s, proxy.Namespace))];
    }

    /// <summary>Whether <paramref name="service"/> is exported to <paramref name="namespace"/>.</summary>
    public static bool IsExportedTo(DiscoveredService service, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service.ExportTo.Count == 0)
        {
            return true;
        }
        foreach (var to in service.ExportTo)
        {
            if (to == "*" || (to == "." && service.Key.Namespace == @namespace) || to == @namespace)
            {
                return true;
            }
        }
        return false;
    }
}
