namespace XdsServer.Kubernetes.Internal;

/// <summary>Exponential back-off with jitter: the delay doubles from the first to the longest, each one drawn between
/// half and all of it, so many sources failing together do not retry in step.</summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    private readonly TimeSpan _initial = initial;
    private TimeSpan _next = initial;

    public TimeSpan Next()
    {
        var ceiling = _next;
        _next = TimeSpan.FromTicks(Math.Min(max.Ticks, _next.Ticks * 2));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromTicks((long)(ceiling.Ticks * (0.5 + (Random.Shared.NextDouble() / 2))));
#pragma warning restore CA5394
    }

    public void Reset() => _next = _initial;
}
