namespace XdsServer.Cache.Tests;

/// <summary><see cref="WatchResponse.Snapshot"/>: the snapshot an answer was computed from, which a server orders ADS
/// pushes by (a referenced resource of an earlier type comes with the same update exactly when that snapshot holds it).</summary>
public class WatchResponseSnapshotTests
{
    [Fact]
    public void A_snapshot_cache_answer_names_the_snapshot_its_set_came_from()
    {
        using var cache = new SnapshotCache();
        var s1 = Snapshot.CreateBuilder().Add(Fixtures.Cluster("c")).Add(Fixtures.Endpoints("c", 1)).Build();
        cache.SetSnapshot("n", s1);
        var eds = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c"]);

        // Answered at once (the watch opens on a set it lacks).
        var first = Probe.Now(cache, "n", eds);
        Assert.NotNull(first);
        Assert.Same(s1, first!.Snapshot);

        // Answered by an update: the new snapshot.
        using var waiting = Probe.Open(cache, "n", eds.ApplyResponse(first));
        var s2 = s1.ToBuilder().Set(Fixtures.Endpoints("c", 2)).Build();
        cache.SetSnapshot("n", s2);
        Assert.NotNull(waiting.Response);
        Assert.Same(s2, waiting.Response!.Snapshot);
    }

    [Fact]
    public void A_linear_cache_answer_has_no_snapshot()
    {
        var cache = new LinearCache(EnvoyResourceTypes.ClusterLoadAssignment);
        cache.SetResources([Fixtures.Endpoints("c", 1)]);
        var response = Probe.Now(cache, "n", ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c"]));
        Assert.NotNull(response);
        Assert.Null(response!.Snapshot);
    }
}
