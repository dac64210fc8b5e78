using System.Collections.Concurrent;

namespace XdsServer.Internal;

/// <summary>The open streams, for status, CSDS and debug endpoints.</summary>
internal sealed class StreamRegistry : IXdsStatus, IXdsStreamAuthorization
{
    private readonly ConcurrentDictionary<long, IStreamStatusSource> _streams = new();

    public void Add(long id, IStreamStatusSource stream) => _streams[id] = stream;

    public void Remove(long id) => _streams.TryRemove(id, out _);

    public IEnumerable<IStreamStatusSource> Sources => _streams.Values;

    /// <summary>The open streams, oldest first (by stream id): CSDS lists a node's streams in this order, so that its
    /// newest stream, last, can speak for a type as it does on the operator pages.</summary>
    public IEnumerable<IStreamStatusSource> SourcesOldestFirst => _streams.OrderBy(s => s.Key).Select(s => s.Value);

    /// <summary>Every open stream's status, by stream id.</summary>
    /// <param name="withResources">False for a summary: no per-resource versions and no subscription text, so a caller
    /// that runs often (the health check) costs O(streams × types), not O(streams × resources).</param>
    public IReadOnlyList<XdsStreamStatus> GetStreams(bool withResources) =>
        [.. _streams.Values.Select(s => s.GetStatus(withResources)).OfType<XdsStreamStatus>().OrderBy(s => s.StreamId)];

    /// <inheritdoc/>
    public IReadOnlyList<XdsStreamStatus> GetStreams() => GetStreams(withResources: true);

    public void ReauthorizeAll()
    {
        foreach (var stream in _streams.Values)
        {
            stream.Reauthorize();
        }
    }
}

internal interface IStreamStatusSource
{
    /// <summary>The stream's node, or null before it is known.</summary>
    Envoy.Config.Core.V3.Node? CurrentNode { get; }

    /// <summary>The stream's status, or null before its node is known.</summary>
    /// <param name="withResources">False to leave out the per-resource versions and the subscription's text.</param>
    XdsStreamStatus? GetStatus(bool withResources = true);

    /// <summary>The stream's node and per-resource state for CSDS, or null before the node is known.</summary>
    Envoy.Service.Status.V3.ClientConfig? GetClientConfig();

    /// <summary>Runs the node authorizers again soon, when the stream was allowed on a credential.</summary>
    void Reauthorize();
}
