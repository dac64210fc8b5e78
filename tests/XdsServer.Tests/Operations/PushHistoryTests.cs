using Microsoft.Extensions.Time.Testing;
using XdsServer.Operations;

namespace XdsServer.Tests.Operations;

/// <summary>The status page's push history: a fixed ring of time buckets, whatever runs through it.</summary>
public sealed class PushHistoryTests
{
    [Fact]
    public void It_keeps_a_fixed_number_of_buckets_and_forgets_what_fell_out_of_the_window()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var history = new PushHistory(TimeSpan.FromSeconds(10), 6, time, meterScope: null, listen: false);
        history.Record(2.0, 0);
        history.Record(4.0, 0);
        history.Record(null, 1);

        var first = history.Snapshot();
        Assert.Equal(6, first.Count);
        Assert.Equal((2, 3.0, 4.0, 1), (first[^1].Responses, first[^1].LatencyAverageMs, first[^1].LatencyMaxMs, first[^1].Nacks));
        Assert.All(first.Take(5), b => Assert.Equal(0, b.Responses));
        Assert.Equal(TimeSpan.FromSeconds(10), first[^1].Start - first[^2].Start);

        // A thousand intervals of pushes: still six buckets, the newest last, each counting only its own interval.
        for (var i = 0; i < 1000; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            history.Record(1.0, 0);
        }

        var later = history.Snapshot();
        Assert.Equal(6, later.Count);
        Assert.All(later, b => Assert.Equal((1, 0), (b.Responses, b.Nacks)));

        // Quiet for longer than the window: every bucket is empty again (stale slots are not shown).
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.All(history.Snapshot(), b => Assert.Equal(0, b.Responses));
    }
}
