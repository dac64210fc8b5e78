namespace XdsServer.Ca.Internal;

/// <summary>
/// Reads the namespace out of an Istio-form node id, <c>type~ip~pod.namespace~namespace.svc.cluster.local</c>
/// (type <c>sidecar</c>, <c>router</c>, ...). The pod name may hold dots; the namespace, a DNS label, cannot, so it
/// is what follows the last dot of the third part, and the first label of the fourth.
/// </summary>
internal static class IstioNodeId
{
    /// <summary>True when <paramref name="nodeId"/> has Istio's four-part form; <paramref name="namespaces"/> then
    /// holds the namespaces it names (from the pod part and from the DNS domain part, where present).</summary>
    public static bool TryRead(string nodeId, out IReadOnlyList<string> namespaces)
    {
        namespaces = [];
        var parts = nodeId.Split('~');
        if (parts.Length != 4 || parts[0].Length == 0)
        {
            return false;
        }

        var found = new List<string>(2);
        var podDot = parts[2].LastIndexOf('.');
        if (podDot >= 0)
        {
            found.Add(parts[2][(podDot + 1)..]);
        }

        if (parts[3].Length > 0)
        {
            var domainDot = parts[3].IndexOf('.', StringComparison.Ordinal);
            found.Add(domainDot < 0 ? parts[3] : parts[3][..domainDot]);
        }

        namespaces = found;
        return true;
    }

    /// <summary>The namespace of an Istio-form SPIFFE ID (<c>/ns/&lt;namespace&gt;/sa/&lt;account&gt;</c>), or null.</summary>
    public static string? NamespaceOf(SpiffeId identity)
    {
        var segments = identity.Path.Split('/');
        return segments.Length == 5 && segments[1] == "ns" && segments[3] == "sa" ? segments[2] : null;
    }
}
