namespace XdsServer.Testing;

/// <summary>Bounded waits for conditions that change on another thread (stream close, server-side state).</summary>
public static class Eventually
{
    /// <summary>Waits until <paramref name="condition"/> holds, checking every 20 ms, failing clearly after
    /// <paramref name="timeout"/> (10 s by default).</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (started.Elapsed > limit)
            {
                throw new TimeoutException($"waited {limit.TotalSeconds:0.#} s for {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the asynchronous <paramref name="condition"/> holds (an HTTP scrape, a fetch), checking
    /// every 100 ms, failing clearly after <paramref name="timeout"/> (10 s by default) with what
    /// <paramref name="lastSeen"/> returns (the last answer, say).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<string>? lastSeen = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (started.Elapsed > limit)
            {
                throw new TimeoutException($"waited {limit.TotalSeconds:0.#} s for {what}"
                    + (lastSeen is null ? string.Empty : $"; last seen:\n{lastSeen()}"));
            }

            await Task.Delay(100);
        }
    }
}
