using Envoy.Config.Core.V3;

namespace XdsServer.Cache;

/// <summary>Maps a node to the group whose snapshot it is served (the node's "group key").</summary>
public interface INodeHash
{
    /// <summary>The group key of <paramref name="node"/>.</summary>
    string GetGroup(Node node);
}

/// <summary>Common node-to-group mappings, or one given as a function.</summary>
public sealed class NodeHash : INodeHash
{
    private readonly Func<Node, string> _map;

    /// <summary>Creates a mapping from a function.</summary>
    public NodeHash(Func<Node, string> map) => _map = map ?? throw new ArgumentNullException(nameof(map));

    /// <summary>Groups by <c>node.id</c>: every node has its own snapshot (the default).</summary>
    public static NodeHash ById { get; } = new(n => n.Id);

    /// <summary>Groups by <c>node.cluster</c>: nodes of one service cluster share a snapshot.</summary>
    public static NodeHash ByCluster { get; } = new(n => n.Cluster);

    /// <inheritdoc />
    public string GetGroup(Node node) => _map(node ?? throw new ArgumentNullException(nameof(node))) ?? string.Empty;
}
