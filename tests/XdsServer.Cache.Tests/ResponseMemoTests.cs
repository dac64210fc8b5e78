using System.Runtime.CompilerServices;
using XdsServer.Cache.Internal;
using static XdsServer.Cache.Tests.ResponseComputerTests;

namespace XdsServer.Cache.Tests;

/// <summary>Streams in the same position (same subscription, same baseline) answered from the same set share the
/// answer's lists; anything that tells them apart gets its own, correct answer.</summary>
public class ResponseMemoTests
{
    private static readonly ResourceType Eds = EnvoyResourceTypes.ClusterLoadAssignment;

    private static ResourceSet Endpoints(int count) =>
        SetOf(Eds, [.. Enumerable.Range(0, count).Select(i => $"e{i:D3}")]);

    [Theory]
    [InlineData(false, new[] { "e001", "e002", "e003" })]
    [InlineData(false, new[] { "e002" })] // one name: its set is not interned, compared by content
    [InlineData(false, new[] { "*" })]
    [InlineData(true, new[] { "e001", "e002", "e003", "missing" })]
    public void Two_streams_in_the_same_position_get_the_same_lists(bool delta, string[] names)
    {
        var before = Endpoints(10);
        var a = UpToDate(New(delta, names), before);
        var b = UpToDate(New(delta, names), before);
        Assert.NotSame(a.Subscription, b.Subscription);
        var after = Next(before, update: ["e002", "e005"], remove: ["e003"]);

        var first = ResponseComputer.Compute(a, after)!;
        var second = ResponseComputer.Compute(b, after)!;

        Assert.NotSame(first, second);
        Assert.Same(a, first.State);
        Assert.Same(b, second.State);
        Assert.Same(first.Resources, second.Resources);
        Assert.Same(first.RemovedNames, second.RemovedNames);
        Assert.Contains("e002", NamesOf(first));
    }

    [Fact]
    public void Shared_lists_still_name_each_response_s_own_snapshot()
    {
        var before = Endpoints(5);
        var a = UpToDate(New(false, ["e001", "e002"]), before);
        var b = UpToDate(New(false, ["e001", "e002"]), before);
        var after = Next(before, update: ["e001"]);
        // Two snapshots can hold the same set (an update that changed another type).
        var one = Snapshot.CreateBuilder().Build();
        var two = Snapshot.CreateBuilder().Build();

        var first = ResponseComputer.Compute(a, after, one)!;
        var second = ResponseComputer.Compute(b, after, two)!;

        Assert.Same(first.Resources, second.Resources);
        Assert.Same(one, first.Snapshot);
        Assert.Same(two, second.Snapshot);
    }

    [Fact]
    public void Streams_in_different_positions_get_their_own_answers()
    {
        var s0 = Endpoints(10);
        var s1 = Next(s0, update: ["e001"]);
        var s2 = Next(s1, update: ["e002"], version: "3");
        var ab = UpToDate(New(false, ["e001", "e002"]), s1);
        var ac = UpToDate(New(false, ["e001", "e003"]), s1);
        var behind = UpToDate(New(false, ["e001", "e002"]), s0);
        var single = UpToDate(New(false, ["e002"]), s1);
        var otherSingle = UpToDate(New(false, ["e003"]), s1);

        Assert.Equal(["e002"], NamesOf(ResponseComputer.Compute(ab, s2)!));
        Assert.Null(ResponseComputer.Compute(ac, s2));
        Assert.Equal(["e001", "e002"], NamesOf(ResponseComputer.Compute(behind, s2)!));
        Assert.Equal(["e002"], NamesOf(ResponseComputer.Compute(single, s2)!));
        Assert.Null(ResponseComputer.Compute(otherSingle, s2));
        // The same names over the other protocol: delta also reports the removal.
        var delta = UpToDate(New(true, ["e001", "e002"]), s1);
        var removed = Next(s2, remove: ["e001"]);
        Assert.Equal(["e001"], ResponseComputer.Compute(delta, removed)!.RemovedNames);
        Assert.Empty(ResponseComputer.Compute(UpToDate(New(false, ["e001", "e002"]), s1), removed)!.RemovedNames);
    }

    [Fact]
    public void A_stream_with_per_name_exceptions_gets_its_own_answer()
    {
        var before = Endpoints(5);
        var plain = UpToDate(New(false, ["e001", "e002"]), before);
        var after = Next(before, update: ["e001"]);
        var shared = ResponseComputer.Compute(plain, after)!;

        // Same subscription and baseline, but e002 newly requested again: it must be sent as well.
        var resubscribed = plain.ApplySotwRequest(["e001"]).ApplySotwRequest(["e001", "e002"]);
        var own = ResponseComputer.Compute(resubscribed, after)!;
        Assert.Equal(["e001"], NamesOf(shared));
        Assert.Equal(["e001", "e002"], NamesOf(own));
    }

    [Fact]
    public void Beyond_the_memo_capacity_answers_are_computed_and_still_right()
    {
        var count = ResponseMemo.Capacity + 10;
        var before = Endpoints(count);
        var states = Enumerable.Range(0, count).Select(i => UpToDate(New(true, [$"e{i:D3}", $"e{(i + 1) % count:D3}"]), before)).ToList();
        var after = Next(before, update: [.. Enumerable.Range(0, count).Select(i => $"e{i:D3}")]);

        for (var i = 0; i < count; i++)
        {
            string[] expected = [.. new[] { $"e{i:D3}", $"e{(i + 1) % count:D3}" }.Order(StringComparer.Ordinal)];
            Assert.Equal(expected, NamesOf(ResponseComputer.Compute(states[i], after)!));
        }
    }

    [Fact]
    public void The_memo_keeps_no_earlier_set_alive()
    {
        var (earlier, current) = AnswerFromALaterSet();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(earlier.TryGetTarget(out _), "the earlier set is still reachable (through the later set's memo?)");
        GC.KeepAlive(current);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference<ResourceSet> Earlier, ResourceSet Current) AnswerFromALaterSet()
    {
        var earlier = Endpoints(5);
        var state = UpToDate(New(false, ["e001", "e002"]), earlier);
        var current = Next(earlier, update: ["e001"]);
        Assert.NotNull(ResponseComputer.Compute(state, current));
        return (new WeakReference<ResourceSet>(earlier), current);
    }

    private static ClientState New(bool delta, string[] names) =>
        delta ? ClientState.ForDelta(Eds).ApplyDeltaRequest(names, []) : ClientState.ForSotw(Eds).ApplySotwRequest(names);
}
