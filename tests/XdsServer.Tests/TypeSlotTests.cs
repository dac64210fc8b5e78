using XdsServer.Internal;

namespace XdsServer.Tests;

/// <summary>A type served by one-shot watches (a cache that does not signal changes) holds one pending answer (a
/// <see cref="PendingAnswer"/> mailbox): the newest of the current watch generation (docs/architecture.md, invariant 3).</summary>
public class TypeSlotTests
{
    /// <summary>What a cache answers a client that holds nothing, for two different snapshots.</summary>
    private static (ClientState State, WatchResponse Older, WatchResponse Newer) TwoAnswers()
    {
        var state = ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]);
        WatchResponse Answer(Snapshot snapshot)
        {
            using var cache = new SnapshotCache();
            cache.SetSnapshot("n", snapshot);
            WatchResponse? answer = null;
            using var watch = cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), state), r => answer = r);
            return answer ?? throw new InvalidOperationException("the cache did not answer");
        }

        return (state,
            Answer(Snapshot.CreateBuilder().Add(Fixtures.Cluster("old")).Add(Fixtures.Endpoints("old", 1)).Build()),
            Answer(Snapshot.CreateBuilder().Add(Fixtures.Cluster("new")).Add(Fixtures.Endpoints("new", 1)).Build()));
    }

    [Fact]
    public void The_newest_answer_of_the_current_generation_wins()
    {
        var (_, older, newer) = TwoAnswers();
        var slot = new PendingAnswer();
        var generation = slot.BeginWatch();

        slot.Offer(generation, older);
        slot.Offer(generation, newer);

        Assert.Same(newer, slot.Take());
        Assert.Null(slot.Take());
    }

    [Fact]
    public void An_answer_of_an_earlier_generation_is_refused_and_a_new_generation_drops_the_old_answer()
    {
        var (_, older, newer) = TwoAnswers();
        var slot = new PendingAnswer();
        var first = slot.BeginWatch();
        slot.Offer(first, older);

        var second = slot.BeginWatch();
        Assert.False(slot.HasPending, "a new watch generation keeps an answer computed for the old one");
        slot.Offer(first, older); // the cancelled watch answers late
        Assert.False(slot.HasPending, "a late answer of a cancelled watch was stored");
        slot.Offer(second, newer);
        Assert.Same(newer, slot.Peek());
    }
}
