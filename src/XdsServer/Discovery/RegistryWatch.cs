namespace XdsServer.Discovery;

/// <summary>
/// A consumer's view of what changed in the <see cref="ServiceRegistry"/>: changes are coalesced by object (the
/// latest kind of change wins; an object added then removed before the consumer looked is dropped), so memory is
/// bounded by the number of distinct objects changed, and a consumer that is slow sees fewer, larger batches.
/// </summary>
public sealed class RegistryWatch : IDisposable
{
    private readonly ServiceRegistry _registry;
    private readonly Lock _lock = new();
    private Dictionary<ObjectKey, RegistryChange> _pending = [];
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RegistryWatch(ServiceRegistry registry) => _registry = registry;

    /// <summary>Waits until something changed, then returns every change since the last call, coalesced, and the
    /// registry as it is now (which already holds them).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The changes and the snapshot.</returns>
    public async Task<(IReadOnlyList<RegistryChange> Changes, RegistrySnapshot Snapshot)> NextAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_pending.Count > 0)
                {
                    var changes = _pending.Values.ToList();
                    _pending = [];
                    _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    return (changes, _registry.Current);
                }

                wait = _signal.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops watching.</summary>
    public void Dispose() => _registry.Unwatch(this);

    internal void Add(IReadOnlyList<RegistryChange> changes)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            foreach (var change in changes)
            {
                if (_pending.TryGetValue(change.Key, out var earlier))
                {
                    var merged = Merge(earlier, change);
                    if (merged is null)
                    {
                        _pending.Remove(change.Key);
                    }
                    else
                    {
                        _pending[change.Key] = merged;
                    }
                }
                else
                {
                    _pending[change.Key] = change;
                }
            }

            if (_pending.Count == 0)
            {
                return;
            }

            signal = _signal;
        }

        signal.TrySetResult();
    }

    /// <summary>Two changes of one object as one: added+removed is nothing, added+updated is added,
    /// removed+added is updated, anything else is the later.</summary>
    private static RegistryChange? Merge(RegistryChange earlier, RegistryChange later) => (earlier.Kind, later.Kind) switch
    {
        (RegistryChangeKind.Added, RegistryChangeKind.Removed) => null,
        (RegistryChangeKind.Added, _) => later with { Kind = RegistryChangeKind.Added },
        (RegistryChangeKind.Removed, RegistryChangeKind.Added) => later with { Kind = RegistryChangeKind.Updated },
        _ => later,
    };
}
