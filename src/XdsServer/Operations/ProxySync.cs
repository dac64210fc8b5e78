using Envoy.Config.Core.V3;

namespace XdsServer.Operations;

/// <summary>A type's sync state as <c>istioctl proxy-status</c> names it.</summary>
internal enum SyncState
{
    /// <summary>Nothing of this type was sent.</summary>
    NotSent,

    /// <summary>The client ACKed the last response sent.</summary>
    Synced,

    /// <summary>The last response sent is not ACKed: no answer yet, or a NACK.</summary>
    Stale,
}

/// <summary>One proxy (node id) with its open streams and, per type, the state of the newest stream that carries it.</summary>
internal sealed record ProxySync(string NodeId, Node Node, IReadOnlyList<XdsStreamStatus> Streams, IReadOnlyList<XdsTypeStatus> Types)
{
    /// <summary>When its oldest open stream opened.</summary>
    public DateTimeOffset ConnectedSince => Streams.Min(s => s.OpenedAt);

    /// <summary>The node's namespace when its metadata says (istio-agent's <c>NAMESPACE</c>), else null.</summary>
    public string? Namespace =>
        Node.Metadata?.Fields.TryGetValue("NAMESPACE", out var value) == true && value.KindCase == Google.Protobuf.WellKnownTypes.Value.KindOneofCase.StringValue
            ? value.StringValue
            : null;

    /// <summary>Groups the open streams by node id (ordinal), in node id order.</summary>
    public static IReadOnlyList<ProxySync> From(IReadOnlyList<XdsStreamStatus> streams) =>
        [.. streams.GroupBy(s => s.Node.Id, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var ordered = g.OrderBy(s => s.StreamId).ToList();
                // The newest stream that carries a type speaks for it (a reconnect replaces the old stream).
                var types = ordered.SelectMany(s => s.Types)
                    .GroupBy(t => t.TypeUrl, StringComparer.Ordinal)
                    .Select(t => t.Last())
                    .ToList();
                return new ProxySync(g.Key, ordered[^1].Node, ordered, types);
            })];

    /// <summary>SYNCED when the client ACKed the last response sent; STALE when it NACKed it or has not answered yet;
    /// NOT SENT when nothing was sent (the meanings of <c>istioctl proxy-status</c>).</summary>
    public static SyncState StateOf(XdsTypeStatus type) =>
        type.LastSentNonce is null ? SyncState.NotSent
        : type.AwaitingAck || (type.LastNack is { } nack && nack.Nonce == type.LastSentNonce) ? SyncState.Stale
        : SyncState.Synced;

    public static string Text(SyncState state) => state switch
    {
        SyncState.Synced => "SYNCED",
        SyncState.Stale => "STALE",
        _ => "NOT SENT",
    };

    /// <summary>The short name of a type URL (<c>Cluster</c> for <c>type.googleapis.com/envoy.config.cluster.v3.Cluster</c>).</summary>
    public static string ShortName(string typeUrl)
    {
        var dot = typeUrl.LastIndexOf('.');
        return dot >= 0 && dot < typeUrl.Length - 1 ? typeUrl[(dot + 1)..] : typeUrl;
    }
}
