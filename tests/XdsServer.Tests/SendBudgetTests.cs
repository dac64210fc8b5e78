using XdsServer.Internal;

namespace XdsServer.Tests;

/// <summary>The server-wide bound on response bytes being written (XdsServerOptions.MaxResponseBytesInFlight).</summary>
public sealed class SendBudgetTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Writes_within_the_budget_go_at_once_and_the_next_waits_for_bytes_to_come_back()
    {
        var budget = new SendBudget(1000);
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
        var budget = new SendBudget(1000);
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
        var budget = new SendBudget(100);
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
        var budget = new SendBudget(100);
        var lease = await budget.AcquireAsync(70, CancellationToken.None);
        lease.Dispose();
        lease.Dispose();
        Assert.Equal(0, budget.InFlight);
        using var again = await budget.AcquireAsync(100, CancellationToken.None);
        Assert.Equal(100, budget.InFlight);
    }
}
