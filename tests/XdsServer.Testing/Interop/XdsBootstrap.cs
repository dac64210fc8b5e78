using System.Text.Json;
using System.Text.Json.Nodes;

namespace XdsServer.Testing.Interop;

/// <summary>The gRPC xDS bootstrap that real clients read from <c>GRPC_XDS_BOOTSTRAP_CONFIG</c>: one ADS server
/// over insecure h2c, <c>xds_v3</c>, and a node with a locality (grpc-js requires one).</summary>
public sealed record XdsBootstrap
{
    /// <summary>The xDS server's port on 127.0.0.1.</summary>
    public required int ServerPort { get; init; }

    /// <summary>The node id (the snapshot cache's default node hash).</summary>
    public required string NodeId { get; init; }

    /// <summary>The node's cluster.</summary>
    public string Cluster { get; init; } = "interop";

    /// <summary>The node's locality zone.</summary>
    public string Zone { get; init; } = "z1";

    /// <summary>A bootstrap for <paramref name="nodeId"/> talking to <paramref name="server"/>.</summary>
    public static XdsBootstrap For(LoopbackXdsServer server, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(server);
        return new XdsBootstrap { ServerPort = server.Port, NodeId = nodeId };
    }

    /// <summary>The bootstrap JSON.</summary>
    public string ToJson() => new JsonObject
    {
        ["xds_servers"] = new JsonArray(new JsonObject
        {
            ["server_uri"] = $"127.0.0.1:{ServerPort}",
            ["channel_creds"] = new JsonArray(new JsonObject { ["type"] = "insecure" }),
            ["server_features"] = new JsonArray("xds_v3"),
        }),
        ["node"] = new JsonObject
        {
            ["id"] = NodeId,
            ["cluster"] = Cluster,
            ["locality"] = new JsonObject { ["zone"] = Zone },
        },
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    /// <inheritdoc />
    public override string ToString() => ToJson();
}
