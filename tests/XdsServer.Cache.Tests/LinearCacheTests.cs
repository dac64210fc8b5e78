namespace XdsServer.Cache.Tests;

public class LinearCacheTests
{
    private static readonly ResourceType Eds = EnvoyResourceTypes.ClusterLoadAssignment;

    [Fact]
    public void Updates_and_deletes_reach_delta_and_sotw_watches()
    {
        var cache = new LinearCache(Eds);
        cache.UpdateResources([Fixtures.Endpoints("a", 1), Fixtures.Endpoints("b", 2)], []);

        var delta = ClientState.ForDelta(Eds).ApplyDeltaRequest(["*"], []);
        var first = Probe.Now(cache, "x", delta)!;
        Assert.Equal(["a", "b"], Names.Of(first));
        delta = delta.ApplyResponse(first);

        var sotw = ClientState.ForSotw(Eds).ApplySotwRequest(["b"]);
        var sotwFirst = Probe.Now(cache, "y", sotw)!;
        sotw = sotw.ApplyResponse(sotwFirst);

        using var deltaProbe = Probe.Open(cache, "x", delta);
        using var sotwProbe = Probe.Open(cache, "y", sotw);
        var version = cache.Version;

        Assert.True(cache.DeleteResource("a"));
        Assert.Equal(["a"], deltaProbe.Response!.RemovedNames);
        Assert.Null(sotwProbe.Response); // "a" is not b's business
        Assert.NotEqual(version, cache.Version);

        cache.UpdateResource(Fixtures.Endpoints("b", 3));
        Assert.Equal(["b"], Names.Of(sotwProbe.Response!));
    }

    [Fact]
    public void An_update_that_changes_nothing_answers_nobody()
    {
        var cache = new LinearCache(Eds);
        cache.UpdateResource(Fixtures.Endpoints("a", 1));
        var state = ClientState.ForDelta(Eds).ApplyDeltaRequest(["*"], []);
        state = state.ApplyResponse(Probe.Now(cache, "x", state)!);
        using var probe = Probe.Open(cache, "x", state);
        var set = cache.Resources;

        cache.UpdateResource(Fixtures.Endpoints("a", 1));
        Assert.False(cache.DeleteResource("missing"));

        Assert.Same(set, cache.Resources);
        Assert.Null(probe.Response);
        Assert.Equal(1, cache.OpenWatches);
    }

    [Fact]
    public void SetResources_replaces_everything()
    {
        var cache = new LinearCache(Eds);
        cache.UpdateResources([Fixtures.Endpoints("a", 1), Fixtures.Endpoints("b", 2)], []);
        cache.SetResources([Fixtures.Endpoints("b", 2), Fixtures.Endpoints("c", 3)]);
        Assert.Equal(["b", "c"], cache.Resources.Sorted.Select(r => r.Name));
    }

    [Fact]
    public void Wrong_type_is_refused()
    {
        var cache = new LinearCache(Eds);
        Assert.Throws<ArgumentException>(() => cache.UpdateResource(Fixtures.Cluster("c")));
        var e = Assert.Throws<ArgumentException>(() =>
            cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), ClientState.ForSotw(EnvoyResourceTypes.Cluster)), _ => { }));
        Assert.Contains("serves " + TypeUrls.ClusterLoadAssignment, e.Message);
        Assert.Equal(FetchStatus.Ok, cache.Fetch(new FetchRequest(Fixtures.Node("n"), TypeUrls.ClusterLoadAssignment, [], "x")).Status);
    }

    [Fact]
    public void Serves_its_one_type_to_every_node()
    {
        ICache cache = new LinearCache(Eds);
        Assert.True(cache.Serves(TypeUrls.ClusterLoadAssignment, Fixtures.Node("n")));
        Assert.True(cache.Serves(TypeUrls.ClusterLoadAssignment, Fixtures.Node("another")));
        Assert.False(cache.Serves(TypeUrls.Cluster, Fixtures.Node("n")));
        Assert.False(cache.Serves(TypeUrls.ClusterLoadAssignment.ToUpperInvariant(), Fixtures.Node("n"))); // ordinal
    }
}

public class MuxCacheTests
{
    [Fact]
    public void Requests_are_routed_by_type_and_an_unserved_type_is_refused()
    {
        var endpoints = new LinearCache(EnvoyResourceTypes.ClusterLoadAssignment);
        endpoints.UpdateResource(Fixtures.Endpoints("c1", 1));
        using var snapshots = new SnapshotCache();
        snapshots.SetSnapshot("n", Snapshot.CreateBuilder().Add(Fixtures.Cluster("c1")).Include(TypeUrls.ClusterLoadAssignment)
            .Add(Fixtures.Endpoints("c1", 2)).Build());
        var mux = new MuxCache(new Dictionary<string, ICache>
        {
            [TypeUrls.ClusterLoadAssignment] = endpoints,
            [TypeUrls.Cluster] = snapshots,
        });

        var eds = Probe.Now(mux, "n", ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c1"]))!;
        Assert.Same(endpoints.Resources, eds.Source); // from the linear cache, not the snapshot
        Assert.Equal(["c1"], Names.Of(Probe.Now(mux, "n", ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]))!));

        var e = Assert.Throws<ArgumentException>(() =>
            Probe.Now(mux, "n", ClientState.ForSotw(EnvoyResourceTypes.Listener).ApplySotwRequest([])));
        Assert.Contains($"No cache serves type URL '{TypeUrls.Listener}'", e.Message);

        using (mux.TrackStream(Fixtures.Node("n")))
        {
            Assert.Equal(1, endpoints.OpenStreams);
            Assert.Equal(1, snapshots.GetStatus("n")!.OpenStreams);
        }

        Assert.Equal(0, endpoints.OpenStreams);
    }

    [Fact]
    public void Serves_what_the_routed_cache_serves_and_nothing_unrouted_without_a_fallback()
    {
        var endpoints = new LinearCache(EnvoyResourceTypes.ClusterLoadAssignment);
        var clusters = new LinearCache(EnvoyResourceTypes.Cluster);
        var node = Fixtures.Node("n");
        var mux = new MuxCache(new Dictionary<string, ICache>
        {
            [TypeUrls.ClusterLoadAssignment] = endpoints,
            [TypeUrls.Listener] = clusters, // routed to a cache that does not serve it
        });

        Assert.True(mux.Serves(TypeUrls.ClusterLoadAssignment, node));
        Assert.False(mux.Serves(TypeUrls.Listener, node)); // routed, but the cache says no
        Assert.False(mux.Serves(TypeUrls.Cluster, node)); // routed nowhere, no fallback

        using var snapshots = new SnapshotCache();
        var withFallback = new MuxCache(new Dictionary<string, ICache> { [TypeUrls.ClusterLoadAssignment] = endpoints }, snapshots);
        Assert.True(withFallback.Serves(TypeUrls.Cluster, node));
        Assert.True(withFallback.Serves("type.googleapis.com/example.Custom", node)); // a snapshot cache serves every type
    }

    [Fact]
    public void A_classifier_decides_per_node()
    {
        var secrets = new LinearCache(EnvoyResourceTypes.Secret);
        var mux = new MuxCache((typeUrl, node) => node.Id.StartsWith("gateway", StringComparison.Ordinal) ? typeUrl : null,
            new Dictionary<string, ICache> { [TypeUrls.Secret] = secrets });

        Assert.True(mux.Serves(TypeUrls.Secret, Fixtures.Node("gateway-1")));
        Assert.False(mux.Serves(TypeUrls.Secret, Fixtures.Node("sidecar-1")));
    }

    [Fact]
    public void A_cache_that_does_not_say_serves_every_type()
    {
        ICache cache = new SaysNothing();
        Assert.True(cache.Serves(TypeUrls.Listener, Fixtures.Node("n")));
        Assert.True(cache.Serves("type.googleapis.com/example.Custom", Fixtures.Node("n")));
    }

    /// <summary>A cache written before <see cref="ICache.Serves"/>: the default implementation answers for it.</summary>
    private sealed class SaysNothing : ICache
    {
        public IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse) => throw new NotSupportedException();

        public IDisposable TrackStream(Envoy.Config.Core.V3.Node node) => throw new NotSupportedException();

        public FetchResult Fetch(FetchRequest request) => throw new NotSupportedException();
    }
}
