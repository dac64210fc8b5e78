namespace XdsServer.Discovery;

/// <summary>
/// How one discovery source writes to the <see cref="ServiceRegistry"/>: upserts and removals of its own objects,
/// whole-state replacement of some kinds (a relist, a folder reload: only the real differences become changes), and
/// its readiness and health. Thread-safe.
/// </summary>
public sealed class DiscoverySink : IDisposable
{
    private readonly ServiceRegistry _registry;
    private int _closed;

    internal DiscoverySink(ServiceRegistry registry, string source)
    {
        _registry = registry;
        Source = source;
    }

    /// <summary>The source's name.</summary>
    public string Source { get; }

    /// <summary>Adds or replaces objects and removes others, as one change. An object whose resource version is the
    /// one held is no change; an object another source owns is refused (and logged).</summary>
    /// <param name="upserts">Objects to add or replace.</param>
    /// <param name="removals">Keys of this source's objects to remove; unknown keys are ignored.</param>
    /// <returns>What changed.</returns>
    public IReadOnlyList<RegistryChange> Apply(IEnumerable<RegistryObject> upserts, IEnumerable<ObjectKey>? removals = null)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        return _registry.Apply(Source, upserts, removals ?? []);
    }

    /// <summary>Makes <paramref name="objects"/> this source's whole state for <paramref name="kinds"/>: new ones are
    /// added, changed ones updated, and this source's objects of those kinds that are missing are removed. Objects
    /// that did not change cause no change.</summary>
    /// <param name="kinds">The kinds being replaced.</param>
    /// <param name="objects">Every object of those kinds the source has now.</param>
    /// <returns>What changed.</returns>
    /// <exception cref="ArgumentException">An object is not of <paramref name="kinds"/>; nothing is changed.</exception>
    public IReadOnlyList<RegistryChange> Replace(IReadOnlySet<string> kinds, IEnumerable<RegistryObject> objects)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        ArgumentNullException.ThrowIfNull(objects);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        return _registry.Replace(Source, kinds, objects);
    }

    /// <summary>Says the source has loaded its initial state (and is healthy).</summary>
    /// <param name="message">What to show, e.g. "12 services, 40 endpoint slices".</param>
    public void SetReady(string message = "ready") => _registry.SetStatus(Source, ready: true, healthy: true, message);

    /// <summary>Says whether the source is keeping up, and why not.</summary>
    /// <param name="healthy">False while the source cannot reach its backend or holds bad input.</param>
    /// <param name="message">Why; shown by the health check and status pages (no secrets).</param>
    public void SetHealth(bool healthy, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        _registry.SetStatus(Source, ready: null, healthy, message);
    }

    /// <summary>Closes the sink; the source's objects stay until another source or a restart replaces them.</summary>
    public void Dispose() => Interlocked.Exchange(ref _closed, 1);
}
