using XdsServer.Cache.Internal;

namespace XdsServer.Cache.Tests;

/// <summary>
/// Change signals (<see cref="IChangeSource"/>): an update signals the subscribed streams and computes nothing for them
/// on the setter's thread; each stream computes its own answer, against the set in force when it asks.
/// </summary>
public class SignalTests
{
    private static Snapshot Endpoints(int revision) => Snapshot.CreateBuilder()
        .Add(Fixtures.Cluster("c1")).Add(Fixtures.Endpoints("c1", revision)).Build();

    [Fact]
    public void Set_snapshot_with_many_subscriptions_signals_each_and_computes_nothing_on_the_setters_thread()
    {
        const int Streams = 200;
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Endpoints(1));
        var node = Fixtures.Node("n");
        var signals = 0;
        var streams = Enumerable.Range(0, Streams).Select(_ =>
        {
            var registration = cache.Subscribe(node, TypeUrls.ClusterLoadAssignment, () => Interlocked.Increment(ref signals));
            Assert.True(registration.TryGetCurrent(out var set, out var snapshot));
            var requested = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c1"]);
            var state = requested.ApplyResponse(requested.Answer(set, snapshot) ?? throw new Xunit.Sdk.XunitException("no first answer"));
            return (Registration: registration, State: state);
        }).ToList();

        var computedBefore = ResponseComputer.ComputedOnThisThread;
        var second = Endpoints(2);
        cache.SetSnapshot("n", second);
        Assert.Equal(Streams, signals);
        Assert.Equal(computedBefore, ResponseComputer.ComputedOnThisThread);
        Assert.Equal(Streams, cache.GetStatus("n")!.OpenWatches);

        // The streams' loops (here, in turn on this thread) compute when they run.
        foreach (var (registration, state) in streams)
        {
            Assert.True(registration.TryGetCurrent(out var set, out var snapshot));
            var response = state.Answer(set, snapshot) ?? throw new Xunit.Sdk.XunitException("a signalled stream had nothing to send");
            Assert.Equal(second.GetVersion(TypeUrls.ClusterLoadAssignment), response.Version);
            registration.Dispose();
        }

        Assert.Equal(computedBefore + Streams, ResponseComputer.ComputedOnThisThread);
        Assert.Equal(0, cache.GetStatus("n")!.OpenWatches);
    }

    [Fact]
    public void Two_updates_before_a_stream_looks_give_one_answer_with_the_newest_version()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Endpoints(1));
        var signals = 0;
        using var registration = cache.Subscribe(Fixtures.Node("n"), TypeUrls.ClusterLoadAssignment, () => signals++);
        Assert.True(registration.TryGetCurrent(out var first, out _));
        var requested = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c1"]);
        var state = requested.ApplyResponse(requested.Answer(first)!);

        var newest = Endpoints(3);
        cache.SetSnapshot("n", Endpoints(2));
        cache.SetSnapshot("n", newest);

        Assert.Equal(2, signals);
        Assert.True(registration.TryGetCurrent(out var current, out var snapshot));
        var response = state.Answer(current, snapshot);
        Assert.Equal(newest.GetVersion(TypeUrls.ClusterLoadAssignment), response?.Version);
        Assert.Null(state.ApplyResponse(response!).Answer(current, snapshot));
    }

    [Fact]
    public void A_subscription_before_any_snapshot_is_signalled_when_the_set_first_exists_and_not_for_an_unchanged_type()
    {
        using var cache = new SnapshotCache();
        var signals = 0;
        using var registration = cache.Subscribe(Fixtures.Node("n"), TypeUrls.Cluster, () => signals++);
        Assert.False(registration.TryGetCurrent(out _, out _));

        var first = Endpoints(1);
        cache.SetSnapshot("n", first);
        Assert.Equal(1, signals);
        Assert.True(registration.TryGetCurrent(out var set, out var snapshot));
        Assert.Same(first, snapshot);
        Assert.Same(first.GetResources(TypeUrls.Cluster), set);

        var next = first.ToBuilder();
        next.For(TypeUrls.ClusterLoadAssignment).Set(Fixtures.Endpoints("c1", 2));
        cache.SetSnapshot("n", next.Build());
        Assert.Equal(1, signals);
    }

    [Fact]
    public void Linear_and_mux_caches_signal_their_subscriptions()
    {
        var linear = new LinearCache(EnvoyResourceTypes.ClusterLoadAssignment);
        using var snapshots = new SnapshotCache();
        var mux = new MuxCache(new Dictionary<string, ICache> { [TypeUrls.ClusterLoadAssignment] = linear }, snapshots);
        var signals = 0;
        using var registration = mux.Subscribe(Fixtures.Node("n"), TypeUrls.ClusterLoadAssignment, () => signals++)
            ?? throw new Xunit.Sdk.XunitException("the mux did not route the subscription to the linear cache");
        Assert.Equal(1, linear.OpenWatches);

        linear.UpdateResource(Fixtures.Endpoints("c1", 1));
        Assert.Equal(1, signals);
        Assert.True(registration.TryGetCurrent(out var set, out var snapshot));
        Assert.Null(snapshot);
        Assert.Same(linear.Resources, set);

        registration.Dispose();
        linear.UpdateResource(Fixtures.Endpoints("c1", 2));
        Assert.Equal(1, signals);
        Assert.Equal(0, linear.OpenWatches);
    }

    [Fact]
    public void A_mux_cache_routing_to_a_cache_without_signals_says_so()
    {
        var mux = new MuxCache(new Dictionary<string, ICache> { [TypeUrls.Cluster] = new WatchOnlyCache() });
        Assert.Null(mux.Subscribe(Fixtures.Node("n"), TypeUrls.Cluster, () => { }));
    }

    private sealed class WatchOnlyCache : ICache
    {
        public IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse) => throw new NotSupportedException();

        public IDisposable TrackStream(Envoy.Config.Core.V3.Node node) => throw new NotSupportedException();

        public FetchResult Fetch(FetchRequest request) => throw new NotSupportedException();
    }
}
