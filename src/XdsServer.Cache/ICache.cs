using Envoy.Config.Core.V3;

namespace XdsServer.Cache;

/// <summary>Answers streams' watches: decides what a stream needs; the stream sends it.</summary>
public interface IConfigWatcher
{
    /// <summary>
    /// Opens a one-shot watch. When the cache holds something the client lacks, <paramref name="onResponse"/>
    /// is called once with it — possibly before this method returns, and never under a cache lock. It must
    /// not block: store the response and signal the stream's writer. After the response the watch is done;
    /// the stream opens a new one when its client next asks (its ACK or NACK). Dispose the watch to cancel it;
    /// that frees everything it held.
    /// </summary>
    /// <exception cref="ArgumentException">The cache does not serve the requested type.</exception>
    IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse);

    /// <summary>Counts an open stream of <paramref name="node"/> until the result is disposed. When a node
    /// group's last stream closes, its remaining watches and its status go.</summary>
    IDisposable TrackStream(Node node);
}

/// <summary>Answers one-off fetches (the REST-JSON polling variant of xDS).</summary>
public interface IConfigFetcher
{
    /// <summary>Returns the current resources for a fetch, or says the client's version is current.</summary>
    /// <exception cref="ArgumentException">The cache does not serve the requested type.</exception>
    FetchResult Fetch(FetchRequest request);
}

/// <summary>A cache the xDS server can serve from: watches for streams, fetches for REST.</summary>
public interface ICache : IConfigWatcher, IConfigFetcher;
