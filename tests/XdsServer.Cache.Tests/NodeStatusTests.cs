using Microsoft.Extensions.Time.Testing;

namespace XdsServer.Cache.Tests;

public class NodeStatusTests
{
    [Fact]
    public void Status_counts_streams_and_watches_and_records_the_last_request()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var cache = new SnapshotCache(timeProvider: time);
        var stream = cache.TrackStream(Fixtures.Node("n"));
        time.Advance(TimeSpan.FromSeconds(5));
        using var probe = Probe.Open(cache, "n", ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]));

        var status = cache.GetStatus("n")!;
        Assert.Equal(1, status.OpenStreams);
        Assert.Equal(1, status.OpenWatches);
        Assert.Equal(time.GetUtcNow(), status.LastRequestTime);
        Assert.Equal("n", status.Node!.Id);
        stream.Dispose();
    }

    [Fact]
    public void When_the_last_stream_closes_its_watches_and_status_go_but_the_snapshot_stays()
    {
        using var cache = new SnapshotCache();
        var first = cache.TrackStream(Fixtures.Node("n"));
        var second = cache.TrackStream(Fixtures.Node("n"));
        using var probe = Probe.Open(cache, "n", ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]));

        first.Dispose();
        Assert.Equal(1, cache.GetStatus("n")!.OpenWatches);
        second.Dispose();
        second.Dispose(); // idempotent

        Assert.Null(cache.GetStatus("n")); // no snapshot, no streams: nothing left

        cache.SetSnapshot("n", SnapshotTests.HelloChain());
        Assert.Null(probe.Response); // the orphaned watch can never answer
        var status = cache.GetStatus("n")!;
        Assert.Equal((0, 0, null), (status.OpenStreams, status.OpenWatches, status.LastRequestTime));
    }

    [Fact]
    public void An_idle_snapshot_is_dropped_after_the_timeout_and_an_active_one_is_not()
    {
        var time = new FakeTimeProvider();
        using var cache = new SnapshotCache(new SnapshotCacheOptions { IdleSnapshotTimeout = TimeSpan.FromMinutes(10) }, time);
        cache.SetSnapshot("idle", SnapshotTests.HelloChain());
        cache.SetSnapshot("busy", SnapshotTests.HelloChain());
        using var stream = cache.TrackStream(Fixtures.Node("busy"));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.True(cache.TryGetSnapshot("idle", out _));

        time.Advance(TimeSpan.FromMinutes(2)); // the timer fires on the fake clock

        Assert.False(cache.TryGetSnapshot("idle", out _));
        Assert.True(cache.TryGetSnapshot("busy", out _));
        Assert.DoesNotContain("idle", cache.Groups);
    }

    [Fact]
    public void Group_mapping_is_pluggable()
    {
        using var cache = new SnapshotCache(new SnapshotCacheOptions { NodeHash = NodeHash.ByCluster });
        cache.SetSnapshot("test", SnapshotTests.HelloChain()); // Fixtures.Node(...) has cluster "test"

        var response = Probe.Now(cache, "any-id", ClientState.ForSotw(EnvoyResourceTypes.Listener).ApplySotwRequest([]));

        Assert.Equal(["hello"], Names.Of(response!));
    }

    [Fact]
    public void Clearing_a_snapshot_leaves_watches_waiting()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", SnapshotTests.HelloChain());
        Assert.True(cache.ClearSnapshot("n"));
        Assert.False(cache.ClearSnapshot("n"));

        using var probe = Probe.Open(cache, "n", ClientState.ForSotw(EnvoyResourceTypes.Listener).ApplySotwRequest([]));
        Assert.Null(probe.Response);
        cache.SetSnapshot("n", SnapshotTests.HelloChain());
        Assert.NotNull(probe.Response);
    }
}
