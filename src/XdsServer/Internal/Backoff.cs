namespace XdsServer.Internal;

/// <summary>
/// Exponential back-off with jitter: attempt n waits a random time between half and all of initial × 2^(n−1),
/// capped at the longest, so that many clients failing together do not retry in step. Used by the discovery host,
/// the Kubernetes informers and the CA's renewal retries.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan max, Random? random = null)
{
    private int _attempt;

    /// <summary>The delay before the next attempt.</summary>
    public TimeSpan Next() => Delay(initial, max, ++_attempt, random ?? Random.Shared);

    /// <summary>Starts again from the first delay (after a success).</summary>
    public void Reset() => _attempt = 0;

    /// <summary>The delay before <paramref name="attempt"/> (1 for the first retry).</summary>
    public static TimeSpan Delay(TimeSpan initial, TimeSpan max, int attempt, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var ceiling = attempt > 62 ? max.Ticks : Math.Min(max.Ticks, initial.Ticks * Math.Pow(2, Math.Max(0, attempt - 1)));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromTicks((long)(ceiling * (0.5 + (0.5 * random.NextDouble()))));
#pragma warning restore CA5394
    }
}
