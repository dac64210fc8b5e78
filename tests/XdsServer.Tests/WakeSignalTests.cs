using XdsServer.Internal;

namespace XdsServer.Tests;

/// <summary>The stream loop's typed wake-up: auto-reset, never lost, never counted.</summary>
public sealed class WakeSignalTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_set_before_the_wait_is_not_lost_and_many_sets_wake_once()
    {
        var signal = new WakeSignal();
        signal.Set();
        signal.Set();

        await signal.WaitAsync().WaitAsync(Wait);
        Assert.False(signal.WaitAsync().IsCompleted, "two sets before one wait woke two waits (the signal counted)");
    }

    [Fact]
    public async Task A_waiter_is_woken_by_the_next_set_and_the_signal_resets()
    {
        var signal = new WakeSignal();
        var waiting = signal.WaitAsync();
        Assert.False(waiting.IsCompleted);

        signal.Set();
        await waiting.WaitAsync(Wait);
        Assert.False(signal.WaitAsync().IsCompleted, "the set that woke a waiter also stayed set");
    }
}
