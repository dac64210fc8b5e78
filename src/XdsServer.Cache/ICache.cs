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
    /// <remarks>The server calls this only for a type <see cref="ICache.Serves"/> accepts. Anything it throws is
    /// the server's fault, not the client's: the stream ends with INTERNAL and the exception is logged as an error.</remarks>
    /// <exception cref="ArgumentException">The cache does not serve the requested type (ask
    /// <see cref="ICache.Serves"/> first).</exception>
    IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse);

    /// <summary>Counts an open stream of <paramref name="node"/> until the result is disposed. When a node
    /// group's last stream closes, its remaining watches and its status go.</summary>
    IDisposable TrackStream(Node node);
}

/// <summary>Answers one-off fetches (the REST-JSON polling variant of xDS).</summary>
public interface IConfigFetcher
{
    /// <summary>Returns the current resources for a fetch, or says the client's version is current.</summary>
    /// <remarks>The server calls this only for a type <see cref="ICache.Serves"/> accepts. Anything it throws is
    /// the server's fault, not the client's: the request ends with INTERNAL (HTTP 500 over REST) and the exception is
    /// logged as an error.</remarks>
    /// <exception cref="ArgumentException">The cache does not serve the requested type (ask
    /// <see cref="ICache.Serves"/> first).</exception>
    FetchResult Fetch(FetchRequest request);
}

/// <summary>A cache the xDS server can serve from: watches for streams, fetches for REST.</summary>
public interface ICache : IConfigWatcher, IConfigFetcher
{
    /// <summary>
    /// Says whether the cache serves <paramref name="typeUrl"/> to <paramref name="node"/>. The server asks once per
    /// stream and type, before the type's first <see cref="IConfigWatcher.CreateWatch"/> (or
    /// <see cref="IChangeSource.Subscribe"/>), and before every
    /// <see cref="IConfigFetcher.Fetch"/> of a REST or gRPC fetch, and answers a type that
    /// is not served with INVALID_ARGUMENT ("&lt;type URL&gt; is not served by this server"), so "not served" is the
    /// client's mistake and an exception from the cache is always the server's. Served does not mean the cache holds
    /// anything of the type yet: a watch for a served type the cache lacks waits until it has it.
    /// </summary>
    /// <remarks>The server checks what a client sends (a known type URL; resource names: count, length, no empty
    /// names, no control characters) before it asks the cache anything, so a cache need not reject client input and
    /// none of its exceptions is taken as the client's mistake.
    /// <para>Must be cheap, must not block and should not throw (an exception counts as a fault of the cache).
    /// The default answers true for every type, as caches written before this method behaved: a cache that serves
    /// only some types should override it, or a request for another type reaches
    /// <see cref="IConfigWatcher.CreateWatch"/> and whatever that throws ends the request as a server fault
    /// (INTERNAL).</para></remarks>
    /// <param name="typeUrl">The type URL, such as <see cref="TypeUrls.Cluster"/>.</param>
    /// <param name="node">The node asking (a cache may route by node, as <see cref="MuxCache"/>'s classifier can).</param>
    /// <returns>True when the cache answers watches and fetches of the type for the node.</returns>
    bool Serves(string typeUrl, Node node) => true;
}
