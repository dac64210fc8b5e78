namespace XdsServer;

/// <summary>
/// Owns what the operator endpoints create when they are mapped (the status page's push history, which listens to the
/// host's meters): a singleton of the host's container, so it is disposed with the container — also for a host that
/// was built and never started or stopped, where <c>ApplicationStopped</c> never fires.
/// </summary>
internal sealed class OperatorResources : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<IDisposable> _owned = [];
    private bool _disposed;

    /// <summary>Disposes <paramref name="resource"/> with the container (at once when it is already disposed).</summary>
    public void Own(IDisposable resource)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _owned.Add(resource);
                return;
            }
        }

        resource.Dispose();
    }

    public void Dispose()
    {
        List<IDisposable> owned;
        lock (_gate)
        {
            _disposed = true;
            owned = [.. _owned];
            _owned.Clear();
        }

        foreach (var resource in owned)
        {
            resource.Dispose();
        }
    }
}
