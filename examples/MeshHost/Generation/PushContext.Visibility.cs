using System.Globalization;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>The Sidecar resource that applies to a proxy, with its egress hosts parsed.</summary>
/// <param name="Config">The Sidecar.</param>
/// <param name="Spec">Its spec.</param>
/// <param name="Hosts">Its egress hosts as (namespace, host) pairs, pooled over the egress entries; namespace
/// <c>.</c> stands for the proxy's namespace.</param>
public sealed record SidecarScope(ConfigObject Config, SidecarSpec Spec, IReadOnlyList<(string Namespace, string Host)> Hosts);

public sealed partial class PushContext
{
    /// <summary>The services a proxy may reach (and so gets clusters, listeners and routes for): those exported to
    /// its namespace (<c>exportTo</c>: empty or <c>*</c> = all, <c>.</c> = own namespace, <c>~</c> = none), narrowed
    /// by the Sidecar that applies to it (egress hosts). Memoised per (namespace, labels).</summary>
    public IReadOnlyList<DiscoveredService> VisibleServices(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var scope = proxy.Type == ProxyType.Sidecar ? SidecarOf(proxy) : null;
        var key = scope is null
            ? "visible|" + proxy.Namespace
            : "visible|" + proxy.Namespace + "|" + scope.Config.Key;
        return Memo<IReadOnlyList<DiscoveredService>>(key, _ =>
            [.. Services.Where(s => IsExportedTo(s, proxy.Namespace) && (scope is null || SidecarAllows(scope, s, proxy.Namespace)))]);
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

    /// <summary>Whether unknown outbound destinations pass through (ALLOW_ANY) for this proxy: the applying
    /// Sidecar's <c>outboundTrafficPolicy.mode</c> when it sets one, else <see cref="MeshOptions.AllowAnyOutbound"/>.</summary>
    public bool AllowAnyOutbound(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var mode = proxy.Type == ProxyType.Sidecar ? SidecarOf(proxy)?.Spec.OutboundTrafficPolicy?.Mode : null;
        return mode switch
        {
            "REGISTRY_ONLY" => false,
            "ALLOW_ANY" => true,
            _ => Options.AllowAnyOutbound,
        };
    }

    /// <summary>
    /// The Sidecar that applies to a sidecar proxy, as istiod picks it: in the proxy's namespace, the first (oldest,
    /// then by name) whose <c>workloadSelector</c> matches the proxy's labels, else the namespace's one without a
    /// selector, else the root namespace's one without a selector; null when none (everything exported is visible).
    /// Memoised per (namespace, labels).
    /// </summary>
    public SidecarScope? SidecarOf(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var labels = string.Join(",", proxy.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
        var holder = Memo("sidecar|" + proxy.Namespace + "|" + labels, _ => new StrongBox(FindSidecar(proxy)));
        return holder.Value;
    }

    private SidecarScope? FindSidecar(Proxy proxy)
    {
        var all = Memo("sidecar-scopes", _ => ParseSidecars());
        SidecarScope? ns = null, root = null;
        foreach (var scope in all)
        {
            var selector = scope.Spec.WorkloadSelector?.Labels;
            if (scope.Config.Key.Namespace == proxy.Namespace)
            {
                if (selector is { Count: > 0 })
                {
                    if (Matches(selector, proxy.Labels))
                    {
                        return scope;
                    }
                }
                else
                {
                    ns ??= scope;
                }
            }
            else if (scope.Config.Key.Namespace == Options.RootNamespace && selector is not { Count: > 0 })
            {
                root ??= scope;
            }
        }
        return ns ?? root;
    }

    private List<SidecarScope> ParseSidecars()
    {
        var scopes = new List<SidecarScope>();
        var namespaceDefaults = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (obj, spec) in Configs<SidecarSpec>(IstioKinds.Sidecar))
        {
            if (spec.WorkloadSelector is not { Labels.Count: > 0 } && !namespaceDefaults.Add(obj.Key.Namespace))
            {
                // istiod: more than one selector-less Sidecar in a namespace is an error; the oldest is used.
                Report(obj.Key, "spec.workloadSelector: another Sidecar without a selector already applies to this namespace; ignored");
                continue;
            }
            if (spec.Ingress.Count > 0)
            {
                Report(obj.Key, "spec.ingress: explicit inbound listeners are not supported; the inbound side follows the services");
            }
            var hosts = new List<(string, string)>();
            for (var i = 0; i < spec.Egress.Count; i++)
            {
                var egress = spec.Egress[i];
                if (egress.Port is not null || !string.IsNullOrEmpty(egress.Bind))
                {
                    // Simplification: istiod builds a dedicated listener per egress port/bind; MeshHost pools the
                    // hosts of every egress entry and keeps its service-derived listeners.
                    Report(obj.Key, string.Create(CultureInfo.InvariantCulture,
                        $"spec.egress[{i}]: port and bind are not supported; its hosts apply to every port"));
                }
                for (var j = 0; j < egress.Hosts.Count; j++)
                {
                    var entry = egress.Hosts[j];
                    var slash = entry.IndexOf('/', StringComparison.Ordinal);
                    if (slash <= 0 || slash == entry.Length - 1)
                    {
                        Report(obj.Key, string.Create(CultureInfo.InvariantCulture,
                            $"spec.egress[{i}].hosts[{j}]: \"{entry}\" is not namespace/host; ignored"));
                        continue;
                    }
                    var ns = entry[..slash];
                    hosts.Add((ns, entry[(slash + 1)..]));
                }
            }
            scopes.Add(new SidecarScope(obj, spec, hosts));
        }
        return scopes;
    }

    /// <summary>Whether a Sidecar's egress hosts let a proxy of <paramref name="proxyNamespace"/> see <paramref name="service"/>.
    /// An empty egress list means istiod's default: every namespace, every host.</summary>
    private static bool SidecarAllows(SidecarScope scope, DiscoveredService service, string proxyNamespace)
    {
        if (scope.Spec.Egress.Count == 0)
        {
            return true;
        }
        foreach (var (ns, host) in scope.Hosts)
        {
            if (ns == "~")
            {
                continue;
            }
            // "." is the proxy's namespace, also for the root namespace's default Sidecar (istiod converts the
            // root Sidecar in the proxy's namespace).
            var wanted = ns == "." ? proxyNamespace : ns;
            if (wanted != "*" && wanted != service.Key.Namespace)
            {
                continue;
            }
            if (HostMatches(host, service.Hostname))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Istio's host match of a config host (exact, <c>*</c> or <c>*.suffix</c>) against a service host
    /// (which may itself be a wildcard ServiceEntry host).</summary>
    public static bool HostMatches(string pattern, string hostname)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(hostname);
        if (pattern == "*" || string.Equals(pattern, hostname, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (pattern.StartsWith('*'))
        {
            var suffix = pattern[1..];
            // "*.example.com" covers "a.example.com" and the wildcard host "*.b.example.com".
            return hostname.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && hostname.Length > suffix.Length;
        }
        return false;
    }

    private sealed class StrongBox(SidecarScope? value)
    {
        public SidecarScope? Value { get; } = value;
    }
}
