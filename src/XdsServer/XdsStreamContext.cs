using Envoy.Config.Core.V3;
using Grpc.Core;

namespace XdsServer;

/// <summary>The xDS protocol variant of a stream or call.</summary>
public enum XdsProtocol
{
    /// <summary>State of the world over a gRPC stream.</summary>
    StateOfTheWorld,

    /// <summary>Delta (incremental) over a gRPC stream.</summary>
    Delta,

    /// <summary>REST-JSON fetch.</summary>
    Rest,
}

/// <summary>One xDS stream (or REST fetch) as callbacks and the node authorizer see it.</summary>
public sealed class XdsStreamContext
{
    internal XdsStreamContext(long streamId, XdsProtocol protocol, string? typeUrl, ServerCallContext? call,
        Microsoft.AspNetCore.Http.HttpContext? http)
    {
        StreamId = streamId;
        Protocol = protocol;
        TypeUrl = typeUrl;
        CallContext = call;
        HttpContext = http ?? call?.GetHttpContext();
    }

    /// <summary>A number unique to the stream within this process.</summary>
    public long StreamId { get; }

    /// <summary>The protocol variant.</summary>
    public XdsProtocol Protocol { get; }

    /// <summary>The type URL for a per-type stream or a fetch; null on an aggregated (ADS) stream.</summary>
    public string? TypeUrl { get; }

    /// <summary>The node, once the first request carrying it has been read.</summary>
    public Node? Node { get; internal set; }

    /// <summary>The gRPC call (null for REST).</summary>
    public ServerCallContext? CallContext { get; }

    /// <summary>The HTTP context: connection, client certificate, headers.</summary>
    public Microsoft.AspNetCore.Http.HttpContext? HttpContext { get; }

    /// <inheritdoc />
    public override string ToString() => $"stream {StreamId} ({Protocol}{(TypeUrl is null ? ", ADS" : ", " + TypeUrl)}) node '{Node?.Id}'";
}
