using System.Diagnostics.CodeAnalysis;
using Envoy.Config.Core.V3;
using XdsServer.Cache.Internal;

namespace XdsServer.Cache;

/// <summary>
/// Routes each request to one of several caches: by type URL (say, endpoints from a
/// <see cref="LinearCache"/>, everything else from a <see cref="SnapshotCache"/>), or by a classifier of
/// your own over the type URL and the node. It signals changes (<see cref="IChangeSource"/>) of the types it routes
/// to a cache that does; the others are served through one-shot watches.
/// </summary>
public sealed class MuxCache : ICache, IChangeSource
{
    private readonly Func<string, Node, string?> _classify;
    private readonly IReadOnlyDictionary<string, ICache> _caches;
    private readonly ICache? _fallback;
    private readonly ICache[] _distinct;

    /// <summary>Routes by type URL; types not listed go to <paramref name="fallback"/>, if any.</summary>
    public MuxCache(IReadOnlyDictionary<string, ICache> cachesByTypeUrl, ICache? fallback = null)
        : this((typeUrl, _) => typeUrl, cachesByTypeUrl, fallback)
    {
    }

    /// <summary>Routes by a classifier that returns the key of the cache to use (null: the fallback).</summary>
    public MuxCache(Func<string, Node, string?> classify, IReadOnlyDictionary<string, ICache> caches, ICache? fallback = null)
    {
        _classify = classify ?? throw new ArgumentNullException(nameof(classify));
        _caches = caches ?? throw new ArgumentNullException(nameof(caches));
        _fallback = fallback;
        _distinct = [.. caches.Values.Append(fallback).OfType<ICache>().Distinct()];
    }

    /// <inheritdoc />
    public IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Route(request.TypeUrl, request.Node).CreateWatch(request, onResponse);
    }

    /// <summary>Subscribes with the cache the type (and node) routes to, when that cache signals changes.</summary>
    /// <param name="node">The node (passed to the classifier and to the routed cache).</param>
    /// <param name="typeUrl">The type URL.</param>
    /// <param name="changed">Called when the routed cache's set of the type changes.</param>
    /// <returns>The routed cache's registration, or null when that cache does not implement
    /// <see cref="IChangeSource"/> (use <see cref="CreateWatch"/> for the type then).</returns>
    /// <exception cref="ArgumentException">No cache serves the type (see <see cref="Serves"/>).</exception>
    public IChangeRegistration? Subscribe(Node node, string typeUrl, Action changed)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Route(typeUrl, node) is IChangeSource source ? source.Subscribe(node, typeUrl, changed) : null;
    }

    /// <inheritdoc />
    public FetchResult Fetch(FetchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Route(request.TypeUrl, request.Node).Fetch(request);
    }

    /// <summary>Serves a type when the cache the type (and node) routes to serves it; a type routed to no cache, with
    /// no fallback, is not served.</summary>
    /// <param name="typeUrl">The type URL asked for.</param>
    /// <param name="node">The node asking (passed to the classifier).</param>
    /// <returns>True when a routed cache serves the type to the node.</returns>
    public bool Serves(string typeUrl, Node node) => TryRoute(typeUrl, node, out var cache, out _) && cache.Serves(typeUrl, node);

    /// <inheritdoc />
    public IDisposable TrackStream(Node node)
    {
        var registrations = _distinct.Select(c => c.TrackStream(node)).ToArray();
        return new StreamRegistration(() =>
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        });
    }

    /// <exception cref="ArgumentException">No cache serves the type (see <see cref="Serves"/>).</exception>
    private ICache Route(string typeUrl, Node node) => TryRoute(typeUrl, node, out var cache, out var key)
        ? cache
        : throw new ArgumentException($"No cache serves type URL '{typeUrl}' (classified as '{key ?? "(none)"}').", nameof(typeUrl));

    private bool TryRoute(string typeUrl, Node node, [NotNullWhen(true)] out ICache? cache, out string? key)
    {
        key = _classify(typeUrl, node);
        if (key is not null && _caches.TryGetValue(key, out cache))
        {
            return true;
        }

        cache = _fallback;
        return cache is not null;
    }
}
