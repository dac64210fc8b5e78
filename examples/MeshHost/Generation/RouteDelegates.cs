using System.Text.Json;
using MeshHost.Istio;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>
/// Delegate VirtualServices, merged into their root as istiod merges them before generating anything
/// (pilot/pkg/config/kube/virtualservice in istio): a VirtualService without hosts is a delegate; a root's http route
/// with <c>delegate</c> is replaced by the delegate's routes, each delegate match narrowed by (merged with) a root
/// match it does not conflict with, and the root route's settings filling what the delegate route leaves unset. A
/// delegate route conflicting with every root match is dropped; destination short names resolve in the root's
/// namespace, as in istiod.
/// </summary>
public static class RouteDelegates
{
    /// <summary>Whether a VirtualService is a delegate (has no hosts).</summary>
    public static bool IsDelegate(VirtualServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Hosts.All(string.IsNullOrWhiteSpace);
    }

    /// <summary>The root's http routes with its delegations replaced. A delegation to a missing delegate (or one not
    /// exported to the root's namespace) is reported and dropped, as istiod drops it.</summary>
    /// <param name="context">Where problems are reported.</param>
    /// <param name="root">The root VirtualService.</param>
    /// <param name="spec">Its spec.</param>
    /// <param name="delegates">The delegates by <c>ns/name</c>.</param>
    public static List<HttpRoute> Merge(PushContext context, ConfigObject root, VirtualServiceSpec spec,
        IReadOnlyDictionary<string, (ConfigObject Config, VirtualServiceSpec Spec)> delegates)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(delegates);
        var merged = new List<HttpRoute>();
        for (var i = 0; i < spec.Http.Count; i++)
        {
            var http = spec.Http[i];
            if (http?.Delegate is not { } reference)
            {
                merged.Add(http!);
                continue;
            }
            // istiod looks the delegate up by the namespace as written; an omitted one means the root's, as its API
            // documents.
            var ns = string.IsNullOrEmpty(reference.Namespace) ? root.Key.Namespace : reference.Namespace;
            if (string.IsNullOrEmpty(reference.Name) || !delegates.TryGetValue($"{ns}/{reference.Name}", out var target))
            {
                context.Report(root.Key, $"spec.http[{i}].delegate: no delegate VirtualService (one without hosts) {ns}/{reference.Name}; that route is skipped");
                continue;
            }
            var exportTo = target.Spec.ExportTo;
            if (exportTo.Count > 0 && !exportTo.Contains("*") && !exportTo.Contains(root.Key.Namespace)
                && !(exportTo.Contains(".") && target.Config.Key.Namespace == root.Key.Namespace))
            {
                context.Report(root.Key, $"spec.http[{i}].delegate: {ns}/{reference.Name} is not exported to {root.Key.Namespace}; that route is skipped");
                continue;
            }
            foreach (var sub in target.Spec.Http)
            {
                if (sub is not null && MergeRoute(http, Clone(sub)) is { } route)
                {
                    merged.Add(route);
                }
            }
        }
        return merged;
    }

    private static HttpRoute Clone(HttpRoute route) =>
        JsonSerializer.Deserialize<HttpRoute>(JsonSerializer.Serialize(route, IstioJson.Options), IstioJson.Options)!;

    private static HttpRoute? MergeRoute(HttpRoute root, HttpRoute sub)
    {
        if (MergeMatches(root.Match, sub.Match) is not { } matches)
        {
            return null;
        }
        sub.Match = matches;
        sub.Name = Join(root.Name, sub.Name);
        sub.Delegate = null;
        sub.Rewrite ??= root.Rewrite;
        sub.DirectResponse ??= root.DirectResponse;
        sub.Timeout ??= root.Timeout;
        sub.Retries ??= root.Retries;
        sub.Fault ??= root.Fault;
        sub.Mirror ??= root.Mirror;
        sub.MirrorPercent ??= root.MirrorPercent;
        sub.MirrorPercentage ??= root.MirrorPercentage;
        sub.CorsPolicy ??= root.CorsPolicy;
        if (sub.Mirrors.Count == 0)
        {
            sub.Mirrors = root.Mirrors;
        }
        sub.Headers ??= root.Headers;
        return sub;
    }

    private static string? Join(string? root, string? sub) =>
        string.IsNullOrEmpty(sub) ? root : string.IsNullOrEmpty(root) ? sub : root + "-" + sub;

    // Each delegate match must find a root match it does not conflict with; it is merged with every such one.
    private static List<HttpMatchRequest>? MergeMatches(List<HttpMatchRequest> root, List<HttpMatchRequest> sub)
    {
        if (root.Count == 0)
        {
            return sub;
        }
        if (sub.Count == 0)
        {
            return root;
        }
        var result = new List<HttpMatchRequest>();
        foreach (var leaf in sub)
        {
            var found = false;
            foreach (var r in root)
            {
                if (!Conflicts(r, leaf))
                {
                    result.Add(MergeMatch(r, leaf));
                    found = true;
                }
            }
            if (!found)
            {
                return null;
            }
        }
        return result.Count == 0 ? null : result;
    }

    private static HttpMatchRequest MergeMatch(HttpMatchRequest root, HttpMatchRequest leaf) => new()
    {
        Name = Join(root.Name, leaf.Name),
        Uri = leaf.Uri ?? root.Uri,
        Scheme = leaf.Scheme ?? root.Scheme,
        Method = leaf.Method ?? root.Method,
        Authority = leaf.Authority ?? root.Authority,
        Headers = MergeMaps(root.Headers, leaf.Headers),
        WithoutHeaders = MergeMaps(root.WithoutHeaders, leaf.WithoutHeaders),
        QueryParams = MergeMaps(root.QueryParams, leaf.QueryParams),
        Port = leaf.Port != 0 ? leaf.Port : root.Port,
        SourceLabels = MergeMaps(root.SourceLabels, leaf.SourceLabels),
        SourceNamespace = string.IsNullOrEmpty(leaf.SourceNamespace) ? root.SourceNamespace : leaf.SourceNamespace,
        Gateways = leaf.Gateways.Count > 0 ? leaf.Gateways : root.Gateways,
        IgnoreUriCase = leaf.IgnoreUriCase,
        StatPrefix = string.IsNullOrEmpty(leaf.StatPrefix) ? root.StatPrefix : leaf.StatPrefix,
    };

    private static Dictionary<string, T> MergeMaps<T>(Dictionary<string, T> root, Dictionary<string, T> leaf)
    {
        var result = new Dictionary<string, T>(root);
        foreach (var (k, v) in leaf)
        {
            result[k] = v;
        }
        return result;
    }

    private static bool Conflicts(HttpMatchRequest root, HttpMatchRequest leaf)
    {
        if (Conflicts(root.Uri, leaf.Uri) || Conflicts(root.Scheme, leaf.Scheme) || Conflicts(root.Method, leaf.Method)
            || Conflicts(root.Authority, leaf.Authority))
        {
            return true;
        }
        if (leaf.Headers.Any(h => Conflicts(root.Headers.GetValueOrDefault(h.Key), h.Value))
            || leaf.WithoutHeaders.Any(h => Conflicts(root.WithoutHeaders.GetValueOrDefault(h.Key), h.Value))
            || leaf.QueryParams.Any(q => Conflicts(root.QueryParams.GetValueOrDefault(q.Key), q.Value)))
        {
            return true;
        }
        if (root.IgnoreUriCase != leaf.IgnoreUriCase || (root.Port > 0 && leaf.Port > 0 && root.Port != leaf.Port))
        {
            return true;
        }
        if (!string.IsNullOrEmpty(root.SourceNamespace) && leaf.SourceNamespace != root.SourceNamespace)
        {
            return true;
        }
        if (leaf.SourceLabels.Any(l => root.SourceLabels.TryGetValue(l.Key, out var v) && v != l.Value))
        {
            return true;
        }
        return root.Gateways.Count > 0 && leaf.Gateways.Count > 0
            && (root.Gateways.Count < leaf.Gateways.Count || leaf.Gateways.Any(g => !root.Gateways.Contains(g)));
    }

    // istiod's stringMatchConflict: a delegate's condition must be within the root's.
    private static bool Conflicts(StringMatch? root, StringMatch? leaf)
    {
        if (root is null || leaf is null)
        {
            return false;
        }
        static bool Has(string? s) => !string.IsNullOrEmpty(s);
        if (Has(root.Regex) && (Has(leaf.Regex) || Has(leaf.Prefix) || Has(leaf.Exact)))
        {
            return true;
        }
        if (Has(leaf.Regex) && (Has(root.Regex) || Has(root.Prefix) || Has(root.Exact)))
        {
            return true;
        }
        if (Has(root.Exact))
        {
            return Has(leaf.Prefix) || leaf.Exact != root.Exact;
        }
        if (Has(root.Prefix))
        {
            if (Has(leaf.Prefix))
            {
                return !leaf.Prefix!.StartsWith(root.Prefix!, StringComparison.Ordinal);
            }
            if (Has(leaf.Exact))
            {
                return !leaf.Exact!.StartsWith(root.Prefix!, StringComparison.Ordinal);
            }
        }
        return true;
    }
}
