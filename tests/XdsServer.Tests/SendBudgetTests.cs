using Microsoft.Extensions.Time.Testing;
using XdsServer.Internal;

namespace XdsServer.Tests;

/// <summary>The server-wide bound on response bytes being written (XdsServerOptions.MaxResponseBytesInFlight).</summary>
public sealed class SendBudgetTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Writes_within_the_budget_go_at_once_and_the_next_waits_for_bytes_to_come_back()
    {
        using var budget = new SendBudget(1000, new FakeTimeProvider());
        using var a = await budget.AcquireAsync(600, CancellationToken.None);
        var b = budget.AcquireAsync(300, CancellationToken.None);
        Assert.True(b.IsCompleted);
        var c = budget.AcquireAsync(200, CancellationToken.None).AsTask();
        Assert.False(c.IsCompleted);
        Assert.Equal(900, budget.InFlight);

        (await b).Dispose();
        using var leaseC = await c.WaitAsync(Wait);
        Assert.Equal(800, budget.InFlight);
    }

    [Fact]
    public async Task A_large_response_is_not_overtaken_and_one_beyond_the_capacity_goes_alone()
    {
        using var budget = new SendBudget(1000, new FakeTimeProvider());
        var first = await budget.AcquireAsync(500, CancellationToken.None);
        var large = budget.AcquireAsync(5000, CancellationToken.None).AsTask(); // capped at 1000: waits for everything
        var small = budget.AcquireAsync(10, CancellationToken.None).AsTask();
        Assert.False(large.IsCompleted);
        Assert.False(small.IsCompleted); // FIFO: it would fit, but the large one is first

        first.Dispose();
        var leaseLarge = await large.WaitAsync(Wait);
        Assert.Equal(1000, budget.InFlight);
        Assert.False(small.IsCompleted);
        leaseLarge.Dispose();
        (await small.WaitAsync(Wait)).Dispose();
        Assert.Equal(0, budget.InFlight);
    }

    [Fact]
    public async Task A_cancelled_waiter_is_never_charged_and_the_next_gets_its_turn()
    {
        using var budget = new SendBudget(100, new FakeTimeProvider());
        var held = await budget.AcquireAsync(100, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var cancelled = budget.AcquireAsync(50, cts.Token).AsTask();
        var next = budget.AcquireAsync(80, CancellationToken.None).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Wait));
        held.Dispose();
        using var lease = await next.WaitAsync(Wait);
        Assert.Equal(80, budget.InFlight);
    }

    [Fact]
    public async Task A_lease_returns_its_bytes_once()
    {
        using var budget = new SendBudget(100, new FakeTimeProvider());
        var lease = await budget.AcquireAsync(70, CancellationToken.None);
        lease.Dispose();
        lease.Dispose();
        Assert.Equal(0, budget.InFlight);
        using var again = await budget.AcquireAsync(100, CancellationToken.None);
        Assert.Equal(100, budget.InFlight);
    }

    [Fact]
    public async Task A_slow_write_is_released_by_the_injected_clock_after_two_ticks()
    {
        var time = new FakeTimeProvider();
        using var budget = new SendBudget(100, time);
        var elapsed = budget.SlowWriteElapsedAsync();

        time.Advance(SendBudget.SlowWrite);
        Assert.False(elapsed.IsCompleted, "a slow write was released after one tick; it must count for one to two");
        time.Advance(SendBudget.SlowWrite);
        await elapsed.WaitAsync(Wait); // a static timer on the system clock would not move with this host's clock
    }

    [Fact]
    public void Each_budget_owns_one_timer_from_its_host_clock_and_stops_it_when_disposed()
    {
        var first = new CountingTimeProvider();
        var second = new CountingTimeProvider();
        var a = new SendBudget(100, first);
        using var b = new SendBudget(100, second);

        Assert.Equal([SendBudget.SlowWrite], first.Periods);
        Assert.Equal([SendBudget.SlowWrite], second.Periods);
        a.Dispose();
        Assert.Equal(1, first.Disposed);
        Assert.Equal(0, second.Disposed); // two hosts in one process share nothing
    }

    [Fact]
    public async Task Two_budgets_tick_on_their_own_clocks()
    {
        var first = new FakeTimeProvider();
        var second = new FakeTimeProvider();
        using var a = new SendBudget(100, first);
        using var b = new SendBudget(100, second);
        var slowA = a.SlowWriteElapsedAsync();
        var slowB = b.SlowWriteElapsedAsync();

        first.Advance(SendBudget.SlowWrite * 2);
        await slowA.WaitAsync(Wait);
        Assert.False(slowB.IsCompleted, "the other host's clock did not move, yet its slow write was released");
    }

    /// <summary>Records the timers created from it and how many were disposed.</summary>
    private sealed class CountingTimeProvider : FakeTimeProvider
    {
        private int _disposed;

        public List<TimeSpan> Periods { get; } = [];

        public int Disposed => Volatile.Read(ref _disposed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Periods.Add(period);
            return new Counted(base.CreateTimer(callback, state, dueTime, period), this);
        }

        private sealed class Counted(ITimer inner, CountingTimeProvider owner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

            public void Dispose()
            {
                Interlocked.Increment(ref owner._disposed);
                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
