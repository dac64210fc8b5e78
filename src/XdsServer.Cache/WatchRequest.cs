using Envoy.Config.Core.V3;

namespace XdsServer.Cache;

/// <summary>A request for one resource type from one stream: who asks, and what the client holds and wants.</summary>
/// <param name="Node">The node that opened the stream (from its first request).</param>
/// <param name="State">The client's state for the type, with the request already applied.</param>
public sealed record WatchRequest(Node Node, ClientState State)
{
    /// <summary>The type URL asked for.</summary>
    public string TypeUrl => State.Type.TypeUrl;
}
