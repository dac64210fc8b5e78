using Envoy.Service.Discovery.V3;
using Google.Protobuf;

namespace XdsServer;

/// <summary>
/// Hooks into the life of xDS streams, run in registration order. Every method has a no-op default, so
/// implement only what you need. Throw an <see cref="Grpc.Core.RpcException"/> from
/// <see cref="OnStreamOpenedAsync"/> or <see cref="OnRequestAsync"/> to end the stream with that status.
/// Callbacks run on the stream's own loop: a slow callback delays only its own stream.
/// </summary>
public interface IXdsCallbacks
{
    /// <summary>A stream opened and sent its first request (the node is known). Throw to reject it.</summary>
    ValueTask OnStreamOpenedAsync(XdsStreamContext stream, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>A stream closed (for any reason).</summary>
    ValueTask OnStreamClosedAsync(XdsStreamContext stream) => ValueTask.CompletedTask;

    /// <summary>A request arrived: a <see cref="DiscoveryRequest"/> or a <see cref="DeltaDiscoveryRequest"/>
    /// (REST fetches pass their DiscoveryRequest). Throw to end the stream.</summary>
    /// <remarks>Implement this only when you need it: a server whose callbacks keep the default reads a delta
    /// reconnect's <c>resource_names_subscribe</c> and <c>initial_resource_versions</c> without parsing them (a client
    /// that is up to date is recognised by their digests), while one with a request callback parses every request in
    /// full so the callback sees it.</remarks>
    ValueTask OnRequestAsync(XdsStreamContext stream, IMessage request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>A response is about to be sent: a <see cref="DiscoveryResponse"/> or a <see cref="DeltaDiscoveryResponse"/>.
    /// Do not modify it.</summary>
    ValueTask OnResponseAsync(XdsStreamContext stream, IMessage response, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>The client accepted the response with <paramref name="nonce"/> for <paramref name="typeUrl"/>.</summary>
    ValueTask OnAckAsync(XdsStreamContext stream, string typeUrl, string version, string nonce) => ValueTask.CompletedTask;

    /// <summary>The client rejected the response with <paramref name="nonce"/>; <paramref name="errorDetail"/> says why.</summary>
    ValueTask OnNackAsync(XdsStreamContext stream, string typeUrl, string nonce, Google.Rpc.Status errorDetail) => ValueTask.CompletedTask;
}
