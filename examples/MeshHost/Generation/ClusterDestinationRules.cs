using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>A DestinationRule with its host resolved in the rule's namespace.</summary>
/// <param name="Config">The registry object (for problems and metadata).</param>
/// <param name="Spec">The parsed spec.</param>
/// <param name="Host">The host, resolved with <see cref="PushContext.ResolveHost"/>.</param>
public sealed record ResolvedDestinationRule(ConfigObject Config, DestinationRuleSpec Spec, string Host);

/// <summary>
/// Which DestinationRule applies to a service for a proxy, as istiod's PushContext picks it: the rules of the
/// proxy's namespace first, then those of the service's namespace, then those of the root namespace, each only when
/// exported to the proxy's namespace (<c>exportTo</c>); within a namespace the most specific host wins (an exact host,
/// else the longest matching wildcard), a rule whose workload selector picks the proxy before one without, then the
/// oldest. Simplification: istiod merges several rules of the same host in one namespace (subsets of all); here the
/// first one wins whole.
/// </summary>
public static class ClusterDestinationRules
{
    /// <summary>Every usable DestinationRule by namespace, in <see cref="PushContext.Configs{T}"/> order.</summary>
    public static IReadOnlyDictionary<string, List<ResolvedDestinationRule>> ByNamespace(PushContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Memo("clusters.destination-rules", static c =>
        {
            var result = new Dictionary<string, List<ResolvedDestinationRule>>(StringComparer.Ordinal);
            foreach (var (obj, spec) in c.Configs<DestinationRuleSpec>(IstioKinds.DestinationRule))
            {
                if (string.IsNullOrWhiteSpace(spec.Host))
                {
                    c.Report(obj.Key, "spec.host: a DestinationRule needs a host");
                    continue;
                }
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var subset in spec.Subsets)
                {
                    if (string.IsNullOrEmpty(subset.Name))
                    {
                        c.Report(obj.Key, "spec.subsets: a subset needs a name; the unnamed one is left out");
                    }
                    else if (!seen.Add(subset.Name))
                    {
                        c.Report(obj.Key, $"spec.subsets: subset \"{subset.Name}\" is defined twice; the first is used");
                    }
                }
                var ns = obj.Key.Namespace;
                if (!result.TryGetValue(ns, out var list))
                {
                    result[ns] = list = [];
                }
                list.Add(new ResolvedDestinationRule(obj, spec, c.ResolveHost(spec.Host.Trim(), ns)));
            }
            return result;
        });
    }

    /// <summary>The DestinationRule that applies to <paramref name="hostname"/> (a service of
    /// <paramref name="serviceNamespace"/>) for <paramref name="proxy"/>, or null.</summary>
    public static ResolvedDestinationRule? For(PushContext context, Proxy proxy, string hostname, string serviceNamespace)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(hostname);
        var byNamespace = ByNamespace(context);
        foreach (var ns in new[] { proxy.Namespace, serviceNamespace, context.Options.RootNamespace }.Distinct(StringComparer.Ordinal))
        {
            if (ns.Length > 0 && byNamespace.TryGetValue(ns, out var rules) && Best(context, proxy, rules, hostname) is { } rule)
            {
                return rule;
            }
        }
        return null;
    }

    /// <summary>The DestinationRule for <paramref name="host"/> as <paramref name="proxy"/> sees it, looked up with
    /// the namespace of the service of that host the proxy sees (its own namespace's first).</summary>
    public static ResolvedDestinationRule? ForHost(PushContext context, Proxy proxy, string host)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var service = ServiceFor(context, proxy, host);
        return For(context, proxy, host, service?.Key.Namespace ?? string.Empty);
    }

    /// <summary>The service named <paramref name="host"/> visible to <paramref name="proxy"/>: the first exported to
    /// it in <see cref="PushContext.Services"/> order, the one whose clusters <see cref="ClusterBuilder.Build"/> keeps
    /// when several services share a host.</summary>
    public static DiscoveredService? ServiceFor(PushContext context, Proxy proxy, string host)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        return context.ServicesByHost(host).FirstOrDefault(s => PushContext.IsExportedTo(s, proxy.Namespace));
    }

    private static ResolvedDestinationRule? Best(PushContext context, Proxy proxy, List<ResolvedDestinationRule> rules, string hostname)
    {
        ResolvedDestinationRule? best = null;
        var bestScore = (Specificity: -1, Selected: false);
        foreach (var rule in rules)
        {
            if (!IsExportedTo(rule, proxy.Namespace) || !SelectorAllows(context, proxy, rule, out var selected))
            {
                continue;
            }
            var specificity = Specificity(rule.Host, hostname);
            if (specificity < 0)
            {
                continue;
            }
            // Strictly better only: the earlier (older) rule wins ties.
            if (specificity > bestScore.Specificity || (specificity == bestScore.Specificity && selected && !bestScore.Selected))
            {
                best = rule;
                bestScore = (specificity, selected);
            }
        }
        return best;
    }

    private static bool SelectorAllows(PushContext context, Proxy proxy, ResolvedDestinationRule rule, out bool selected)
    {
        selected = false;
        var labels = rule.Spec.WorkloadSelector?.MatchLabels;
        if (labels is null || labels.Count == 0)
        {
            return true;
        }
        // A rule with a workload selector configures the workloads of its own namespace (or, in the root namespace,
        // of every namespace) whose labels match.
        var ns = rule.Config.Key.Namespace;
        if ((ns != proxy.Namespace && ns != context.Options.RootNamespace) || !PushContext.Matches(labels, proxy.Labels))
        {
            return false;
        }
        selected = true;
        return true;
    }

    private static bool IsExportedTo(ResolvedDestinationRule rule, string @namespace)
    {
        var exportTo = rule.Spec.ExportTo;
        if (exportTo.Count == 0)
        {
            return true;
        }
        foreach (var to in exportTo)
        {
            if (to == "*" || (to == "." && rule.Config.Key.Namespace == @namespace) || to == @namespace)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>How specifically <paramref name="ruleHost"/> names <paramref name="hostname"/>: -1 not at all,
    /// <see cref="int.MaxValue"/> exactly, else the wildcard's length (longer is more specific).</summary>
    public static int Specificity(string ruleHost, string hostname)
    {
        ArgumentNullException.ThrowIfNull(ruleHost);
        ArgumentNullException.ThrowIfNull(hostname);
        if (string.Equals(ruleHost, hostname, StringComparison.OrdinalIgnoreCase))
        {
            return int.MaxValue;
        }
        if (ruleHost == "*")
        {
            return 1;
        }
        if (ruleHost.StartsWith('*') && hostname.EndsWith(ruleHost[1..], StringComparison.OrdinalIgnoreCase)
            && hostname.Length > ruleHost.Length - 1)
        {
            return ruleHost.Length;
        }
        return -1;
    }

    /// <summary>The policy of one port: the port's <c>portLevelSettings</c> entry overrides the rule's components
    /// (load balancer, connection pool, outlier detection, TLS) one by one, as istiod merges them.</summary>
    public static TrafficPolicy? ForPort(TrafficPolicy? policy, int port)
    {
        var level = policy?.PortLevelSettings.FirstOrDefault(p => p.Port?.Number == port);
        if (policy is null || level is null)
        {
            return policy;
        }
        return new TrafficPolicy
        {
            LoadBalancer = level.LoadBalancer ?? policy.LoadBalancer,
            ConnectionPool = level.ConnectionPool ?? policy.ConnectionPool,
            OutlierDetection = level.OutlierDetection ?? policy.OutlierDetection,
            Tls = level.Tls ?? policy.Tls,
        };
    }

    /// <summary>A subset's policy: its own (port-level merged) components override the rule's (already resolved for
    /// the port) one by one, as istiod's MergeSubsetTrafficPolicy.</summary>
    public static TrafficPolicy? ForSubset(TrafficPolicy? portPolicy, TrafficPolicy? subsetPolicy, int port)
    {
        if (subsetPolicy is null)
        {
            return portPolicy;
        }
        var own = ForPort(subsetPolicy, port);
        if (portPolicy is null)
        {
            return own;
        }
        return new TrafficPolicy
        {
            LoadBalancer = own?.LoadBalancer ?? portPolicy.LoadBalancer,
            ConnectionPool = own?.ConnectionPool ?? portPolicy.ConnectionPool,
            OutlierDetection = own?.OutlierDetection ?? portPolicy.OutlierDetection,
            Tls = own?.Tls ?? portPolicy.Tls,
        };
    }

    /// <summary>The named subsets of a rule, the first of each name.</summary>
    public static IEnumerable<Subset> Subsets(DestinationRuleSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Subsets.Where(s => !string.IsNullOrEmpty(s.Name)).DistinctBy(s => s.Name, StringComparer.Ordinal);
    }
}
