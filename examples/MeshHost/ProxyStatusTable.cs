using System.Text;
using Envoy.Service.Status.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer;
using XdsServer.Cache;
using GenericXdsConfig = Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig;

namespace MeshHost;

/// <summary>
/// The table of <c>istioctl proxy-status</c> from a CSDS answer: one row per proxy — NAME (pod.namespace for an Istio
/// node id, else the node id), CLUSTER (istio-agent's <c>CLUSTER_ID</c>, else the node's cluster), then CDS, LDS, EDS,
/// RDS, ECDS each SYNCED / STALE / NOT SENT, ISTIOD (the server asked) and VERSION (the proxy's Istio or agent
/// version). Text from proxies is escaped (no control characters reach the terminal).
/// </summary>
public static class ProxyStatusTable
{
    private static readonly (string Column, string TypeUrl)[] Types =
    [
        ("CDS", TypeUrls.Cluster), ("LDS", TypeUrls.Listener), ("EDS", TypeUrls.ClusterLoadAssignment),
        ("RDS", TypeUrls.RouteConfiguration), ("ECDS", TypeUrls.ExtensionConfig),
    ];

    /// <summary>Formats the answer, columns aligned, one line per proxy sorted by name, a header first.</summary>
    /// <param name="response">The CSDS answer.</param>
    /// <param name="server">The server asked (the ISTIOD column).</param>
    /// <returns>The table's text, each line ending in a newline.</returns>
    public static string Format(ClientStatusResponse response, Uri server)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(server);
        string[] header = ["NAME", "CLUSTER", .. Types.Select(t => t.Column), "ISTIOD", "VERSION"];
        var rows = new List<string[]> { header };
        var istiod = server.Authority;
        rows.AddRange(response.Config
            .Select(config => (string[])
            [
                Safe(NameOf(config.Node?.Id ?? string.Empty)),
                Safe(Metadata(config.Node, "CLUSTER_ID") ?? config.Node?.Cluster ?? string.Empty),
                .. Types.Select(t => StateOf(config.GenericXdsConfigs.Where(g => g.TypeUrl == t.TypeUrl).ToList())),
                istiod,
                Safe(Metadata(config.Node, "ISTIO_VERSION") ?? (config.Node?.UserAgentVersion is { Length: > 0 } v ? v : "-")),
            ])
            .OrderBy(r => r[0], StringComparer.Ordinal));

        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            for (var c = 0; c < row.Length; c++)
            {
                text.Append(c == row.Length - 1 ? row[c] : row[c].PadRight(widths[c] + 3));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>A type's state from its resources' CSDS entries: STALE when one is NACKed (ERROR) or not ACKed yet
    /// (STALE), SYNCED when the rest are ACKed, NOT SENT when none was sent.</summary>
    /// <param name="entries">The CSDS entries of one type of one proxy.</param>
    public static string StateOf(IReadOnlyCollection<GenericXdsConfig> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Any(e => e.ConfigStatus is ConfigStatus.Error or ConfigStatus.Stale))
        {
            return "STALE";
        }

        return entries.Any(e => e.ConfigStatus == ConfigStatus.Synced) ? "SYNCED" : "NOT SENT";
    }

    /// <summary><c>pod.namespace</c> from an Istio node id (<c>sidecar~10.1.0.7~reviews-v1.bookinfo~bookinfo.svc.cluster.local</c>),
    /// else the node id.</summary>
    private static string NameOf(string nodeId)
    {
        var parts = nodeId.Split('~');
        return parts.Length == 4 && parts[2].Length > 0 ? parts[2] : nodeId;
    }

    private static string? Metadata(Envoy.Config.Core.V3.Node? node, string key) =>
        node?.Metadata?.Fields.TryGetValue(key, out var value) == true && value.KindCase == Value.KindOneofCase.StringValue && value.StringValue.Length > 0
            ? value.StringValue
            : null;

    /// <summary>Escaped, clipped, and "-" when empty (an empty cell would make the columns ambiguous).</summary>
    private static string Safe(string text) => text.Length == 0 ? "-" : ClientText.ForLog(text, 200);
}
