namespace XdsServer.Cache.Internal;

/// <summary>Runs its release action once, on the first Dispose.</summary>
internal sealed class StreamRegistration(Action release) : IDisposable
{
    private Action? _release = release;

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}
