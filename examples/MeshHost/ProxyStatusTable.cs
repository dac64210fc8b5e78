using System.Text;
using Envoy.Service.Status.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer;
using XdsServer.Cache;
using GenericXdsConfig = Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig;

namespace MeshHost;

/// <summary>
/// The table of <c>istioctl proxy-status</c> from a CSDS answer: one row per proxy (node id, whatever its streams) —
/// NAME (pod.namespace for an Istio node id, else the node id), CLUSTER (istio-agent's <c>CLUSTER_ID</c>, else the
/// node's cluster), then CDS, LDS, EDS, RDS, ECDS each SYNCED / STALE / NOT SENT from the type-level CSDS entries
/// (empty name, see docs/operations.md), ISTIOD (the server asked) and VERSION (the proxy's Istio or agent version).
/// Text from proxies is escaped (no control characters reach the terminal).
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
            .Where(config => config.Node is not null)
            .GroupBy(config => config.Node.Id, StringComparer.Ordinal)
            .Select(proxy =>
            {
                // CSDS lists a proxy's streams oldest first: the newest stream that carries a type speaks for it (a
                // reconnect replaces the old stream), as on /debug/syncz.
                var streams = proxy.ToList();
                var node = streams[^1].Node;
                return (string[])
                [
                    Safe(NameOf(proxy.Key)),
                    Safe(Metadata(node, "CLUSTER_ID") ?? node.Cluster ?? string.Empty),
                    .. Types.Select(t => StateOf(streams.Select(c => TypeEntry(c, t.TypeUrl)).LastOrDefault(e => e is not null))),
                    istiod,
                    Safe(Metadata(node, "ISTIO_VERSION") ?? (node.UserAgentVersion is { Length: > 0 } v ? v : "-")),
                ];
            })
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

    /// <summary>A type's state from its type-level CSDS entry (the one with an empty name: the state of the last
    /// response sent): SYNCED when it was ACKed, STALE when it is not answered yet or was NACKed (CSDS STALE or ERROR),
    /// NOT SENT when nothing was sent or the stream does not carry the type (no entry).</summary>
    /// <param name="entry">The type-level entry of the stream that speaks for the type, or null.</param>
    public static string StateOf(GenericXdsConfig? entry) => entry?.ConfigStatus switch
    {
        ConfigStatus.Synced => "SYNCED",
        ConfigStatus.Stale or ConfigStatus.Error => "STALE",
        _ => "NOT SENT",
    };

    /// <summary>The type-level entry of <paramref name="typeUrl"/> in one stream's config, or null when the stream does
    /// not carry the type.</summary>
    private static GenericXdsConfig? TypeEntry(ClientConfig config, string typeUrl) =>
        config.GenericXdsConfigs.FirstOrDefault(g => g.TypeUrl == typeUrl && g.Name.Length == 0);

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
