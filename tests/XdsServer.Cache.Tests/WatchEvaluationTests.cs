namespace XdsServer.Cache.Tests;

/// <summary>Work that should not happen does not: an update signals only the subscriptions, and evaluates only the
/// watches, of the types it changed.</summary>
public class WatchEvaluationTests
{
    [Fact]
    public void A_snapshot_that_changes_only_endpoints_evaluates_no_listener_or_cluster_watch()
    {
        using var cache = new SnapshotCache();
        var first = Snapshot.CreateBuilder()
            .Add(Fixtures.Listener("l1", "r1")).Add(Fixtures.Route("r1", "c1"))
            .Add(Fixtures.Cluster("c1")).Add(Fixtures.Endpoints("c1", 1))
            .Build();
        cache.SetSnapshot("n", first);

        // Each watch holds what the snapshot has, so it waits for something new.
        using var listeners = OpenCurrent(cache, EnvoyResourceTypes.Listener);
        using var clusters = OpenCurrent(cache, EnvoyResourceTypes.Cluster);
        using var endpoints = OpenCurrent(cache, EnvoyResourceTypes.ClusterLoadAssignment, "c1");
        var before = Counts(cache);

        var next = first.ToBuilder();
        next.For(TypeUrls.ClusterLoadAssignment).Set(Fixtures.Endpoints("c1", 2));
        cache.SetSnapshot("n", next.Build());

        var after = Counts(cache);
        Assert.Equal(before.Listeners, after.Listeners);
        Assert.Equal(before.Clusters, after.Clusters);
        Assert.True(after.Endpoints > before.Endpoints, $"endpoint evaluations {before.Endpoints} -> {after.Endpoints}");
        Assert.Null(listeners.Response);
        Assert.Null(clusters.Response);
        Assert.Equal(["c1"], Names.Of(endpoints.Response ?? throw new Xunit.Sdk.XunitException("the endpoint watch was not answered")));
    }

    [Fact]
    public void A_snapshot_that_changes_only_endpoints_signals_no_listener_or_cluster_subscription()
    {
        using var cache = new SnapshotCache();
        var first = Snapshot.CreateBuilder()
            .Add(Fixtures.Listener("l1", "r1")).Add(Fixtures.Route("r1", "c1"))
            .Add(Fixtures.Cluster("c1")).Add(Fixtures.Endpoints("c1", 1))
            .Build();
        cache.SetSnapshot("n", first);
        var signals = new Dictionary<string, int>(StringComparer.Ordinal);
        var registrations = new[] { TypeUrls.Listener, TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment }
            .Select(t => cache.Subscribe(Fixtures.Node("n"), t, () => signals[t] = signals.GetValueOrDefault(t) + 1))
            .ToList();
        var before = Counts(cache);

        var next = first.ToBuilder();
        next.For(TypeUrls.ClusterLoadAssignment).Set(Fixtures.Endpoints("c1", 2));
        cache.SetSnapshot("n", next.Build());

        var after = Counts(cache);
        Assert.Equal(before.Listeners, after.Listeners);
        Assert.Equal(before.Clusters, after.Clusters);
        Assert.Equal(before.Endpoints + 1, after.Endpoints);
        Assert.Equal(new Dictionary<string, int> { [TypeUrls.ClusterLoadAssignment] = 1 }, signals);
        registrations.ForEach(r => r.Dispose());
    }

    /// <summary>Receives the current set of <paramref name="type"/>, then opens a watch that already holds it.</summary>
    private static Probe OpenCurrent(SnapshotCache cache, ResourceType type, params string[] names)
    {
        var state = ClientState.ForSotw(type).ApplySotwRequest(names);
        var response = Probe.Now(cache, "n", state) ?? throw new Xunit.Sdk.XunitException($"no first response for {type.ShortName}");
        var watch = Probe.Open(cache, "n", state.ApplyResponse(response));
        Assert.Null(watch.Response);
        return watch;
    }

    private static (long Listeners, long Clusters, long Endpoints) Counts(SnapshotCache cache) => (
        cache.Evaluations.Of(TypeUrls.Listener),
        cache.Evaluations.Of(TypeUrls.Cluster),
        cache.Evaluations.Of(TypeUrls.ClusterLoadAssignment));
}
