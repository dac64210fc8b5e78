using MeshHost.Istio;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>A VirtualService with its names resolved as istiod resolves them when it indexes config: hosts and
/// destination hosts are FQDNs (short names relative to the VirtualService's namespace), gateways are
/// <c>ns/name</c> or <c>mesh</c>.</summary>
/// <param name="Config">The object.</param>
/// <param name="Spec">The parsed spec.</param>
/// <param name="Hosts">The resolved hosts, lower-case.</param>
/// <param name="Gateways">The resolved gateways (<c>mesh</c> when the spec names none).</param>
public sealed record ResolvedVirtualService(ConfigObject Config, VirtualServiceSpec Spec, IReadOnlyList<string> Hosts, IReadOnlySet<string> Gateways)
{
    /// <summary>The VirtualService's namespace.</summary>
    public string Namespace => Config.Key.Namespace;

    /// <summary>The VirtualService's name.</summary>
    public string Name => Config.Key.Name;
}

/// <summary>The VirtualServices of a <see cref="PushContext"/>, resolved once and selected per gateway as istiod's
/// virtual service index does.</summary>
public static class RouteVirtualServices
{
    /// <summary>istiod's name for the sidecars as a "gateway" of a VirtualService.</summary>
    public const string MeshGateway = "mesh";

    /// <summary>Every VirtualService, resolved, in the context's config order (namespace/name: the registry holds no
    /// creation time, which istiod would order by first).</summary>
    public static IReadOnlyList<ResolvedVirtualService> All(PushContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Memo("routes.virtualservices", c =>
        {
            var all = c.Configs<VirtualServiceSpec>(IstioKinds.VirtualService);
            var delegates = all.Where(v => RouteDelegates.IsDelegate(v.Spec))
                .ToDictionary(v => $"{v.Object.Key.Namespace}/{v.Object.Key.Name}", v => (v.Object, v.Spec), StringComparer.Ordinal);
            var result = new List<ResolvedVirtualService>();
            foreach (var (obj, parsed) in all)
            {
                if (RouteDelegates.IsDelegate(parsed))
                {
                    // Used only through a root's http[].delegate.
                    continue;
                }
                var spec = parsed;
                if (spec.Http.Any(h => h?.Delegate is not null))
                {
                    spec = new VirtualServiceSpec
                    {
                        Hosts = parsed.Hosts,
                        Gateways = parsed.Gateways,
                        ExportTo = parsed.ExportTo,
                        Http = RouteDelegates.Merge(c, obj, parsed, delegates),
                    };
                }
                var ns = obj.Key.Namespace;
                var hosts = spec.Hosts.Where(h => !string.IsNullOrWhiteSpace(h))
                    .Select(h => c.ResolveHost(h.Trim(), ns).ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
                var gateways = ResolveGateways(spec.Gateways, ns);
                result.Add(new ResolvedVirtualService(obj, spec, hosts, gateways));
            }
            return result;
        });
    }

    /// <summary>The VirtualServices bound to <paramref name="gateway"/> (<c>ns/name</c> or <c>mesh</c>) that a proxy in
    /// <paramref name="proxyNamespace"/> may use, in istiod's precedence: those private to the namespace
    /// (<c>exportTo: .</c>) first, then those exported to it by name, then the public ones; config order within each.</summary>
    public static IReadOnlyList<ResolvedVirtualService> ForGateway(PushContext context, string proxyNamespace, string gateway)
    {
        ArgumentNullException.ThrowIfNull(context);
        var candidates = All(context).Where(v => v.Gateways.Contains(gateway)).ToList();
        var ordered = new List<ResolvedVirtualService>();
        ordered.AddRange(candidates.Where(v => Visibility(v, proxyNamespace) == 0));
        ordered.AddRange(candidates.Where(v => Visibility(v, proxyNamespace) == 1));
        ordered.AddRange(candidates.Where(v => Visibility(v, proxyNamespace) == 2));
        return ordered;
    }

    /// <summary>Resolves gateway references as istiod does: <c>mesh</c> and <c>ns/name</c> stay, <c>./name</c> and a
    /// bare name are in <paramref name="namespace"/>, the legacy <c>name.ns.svc.cluster.local</c> is <c>ns/name</c>;
    /// none means <c>mesh</c>.</summary>
    public static IReadOnlySet<string> ResolveGateways(IEnumerable<string> gateways, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in gateways)
        {
            if (string.IsNullOrWhiteSpace(g))
            {
                continue;
            }
            var name = g.Trim();
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            if (name == MeshGateway)
            {
                set.Add(name);
            }
            else if (slash >= 0)
            {
                set.Add(name[..slash] == "." ? $"{@namespace}/{name[(slash + 1)..]}" : name);
            }
            else if (name.IndexOf('.', StringComparison.Ordinal) is var dot and > 0)
            {
                // The legacy FQDN form: name.ns.svc.cluster.local (or name.ns) is ns/name.
                var rest = name[(dot + 1)..];
                var nsEnd = rest.IndexOf('.', StringComparison.Ordinal);
                set.Add($"{(nsEnd < 0 ? rest : rest[..nsEnd])}/{name[..dot]}");
            }
            else
            {
                set.Add($"{@namespace}/{name}");
            }
        }
        if (set.Count == 0)
        {
            set.Add(MeshGateway);
        }
        return set;
    }

    // 0: private to the proxy's namespace, 1: exported to it by name, 2: public, 3: not visible.
    private static int Visibility(ResolvedVirtualService vs, string proxyNamespace)
    {
        var exportTo = vs.Spec.ExportTo;
        if (exportTo.Count == 0 || exportTo.Contains("*"))
        {
            return 2;
        }
        if (exportTo.Contains(".") && vs.Namespace == proxyNamespace)
        {
            return 0;
        }
        return exportTo.Contains(proxyNamespace) ? 1 : 3;
    }
}
