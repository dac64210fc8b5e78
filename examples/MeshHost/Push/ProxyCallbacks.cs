using System.Collections.Concurrent;
using Grpc.Core;
using MeshHost.Model;
using XdsServer;
using XdsServer.Cache;

namespace MeshHost.Push;

/// <summary>
/// Connects xDS streams to the push pipeline: a stream's node is read as istiod reads it
/// (<see cref="Proxy.TryParse"/>) when the stream opens, and the proxy registered with the
/// <see cref="MeshPublisher"/> (which sets its snapshot before the first request is answered); the stream's end
/// unregisters it (the proxy is forgotten with its last stream). A node id that is not an Istio node id ends the
/// stream with INVALID_ARGUMENT and the reason.
/// </summary>
/// <remarks>A per-type SDS stream (the Secret type only) is left alone: it asks for the secrets of the identity it
/// proves, which <c>AddWorkloadSecrets</c> serves whatever the node id says (a SPIFFE ID is a valid one there), and it
/// needs no mesh configuration. REST fetches open no stream: they read the snapshot of a proxy connected over
/// gRPC.</remarks>
public sealed class ProxyCallbacks(MeshPublisher publisher, ILogger<ProxyCallbacks>? logger = null) : IXdsCallbacks
{
    private readonly ILogger _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private readonly ConcurrentDictionary<long, string> _registered = new();

    /// <inheritdoc/>
    public ValueTask OnStreamOpenedAsync(XdsStreamContext stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.TypeUrl == TypeUrls.Secret || stream.Node is not { } node)
        {
            return ValueTask.CompletedTask;
        }

        if (!Proxy.TryParse(node, out var proxy, out var error))
        {
            MeshHostLog.BadNode(_logger, stream.StreamId, ClientText.ForLog(error)); // the reason quotes the client's node id
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }

        _registered[stream.StreamId] = proxy.NodeId;
        publisher.Register(proxy);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask OnStreamClosedAsync(XdsStreamContext stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (_registered.TryRemove(stream.StreamId, out var nodeId))
        {
            publisher.Unregister(nodeId);
        }

        return ValueTask.CompletedTask;
    }
}
