namespace XdsServer.Cache.Tests;

/// <summary>State-of-the-world semantics, rule by rule from the xDS protocol page.</summary>
public class SotwWatchTests
{
    private static Snapshot ThreeOfEach(int endpointPort = 1, string listenerTag = "") => Snapshot.CreateBuilder()
        .Add(Fixtures.Listener("l1", "r1", listenerTag)).Add(Fixtures.Listener("l2", "r2")).Add(Fixtures.Listener("l3", "r3"))
        .Add(Fixtures.Route("r1", "c1")).Add(Fixtures.Route("r2", "c2")).Add(Fixtures.Route("r3", "c3"))
        .Add(Fixtures.Cluster("c1")).Add(Fixtures.Cluster("c2")).Add(Fixtures.Cluster("c3"))
        .Add(Fixtures.Endpoints("c1", endpointPort)).Add(Fixtures.Endpoints("c2", 2)).Add(Fixtures.Endpoints("c3", 3))
        .Build();

    private static ClientState Sotw(ResourceType type, params string[] names) =>
        ClientState.ForSotw(type).ApplySotwRequest(names);

    /// <summary>Opens a watch, expects an immediate answer, and records it as sent.</summary>
    private static ClientState Receive(ICache cache, ClientState state, out WatchResponse response)
    {
        response = Probe.Now(cache, "n", state) ?? throw new Xunit.Sdk.XunitException($"no response for {state}");
        return state.ApplyResponse(response);
    }

    [Fact]
    public void Empty_first_request_for_listeners_is_a_wildcard()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());

        Receive(cache, Sotw(EnvoyResourceTypes.Listener), out var response);

        Assert.Equal(["l1", "l2", "l3"], Names.Of(response));
        Assert.Equal(cache.GetStatus("n")!.SnapshotVersions[TypeUrls.Listener], response.Version);
    }

    [Fact]
    public void A_wildcard_subscriber_of_an_empty_listener_set_is_told_there_are_none()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Snapshot.CreateBuilder().Include(TypeUrls.Listener).Include(TypeUrls.ClusterLoadAssignment).Build());

        // Full-state type, wildcard: an empty answer, so an Envoy can finish initialising.
        Receive(cache, Sotw(EnvoyResourceTypes.Listener), out var response);
        Assert.Empty(Names.Of(response));

        // Named subscriptions to nothing that exists, and non-full-state types, still wait for something to exist.
        using var named = Probe.Open(cache, "n", Sotw(EnvoyResourceTypes.Listener, "l1"));
        Assert.Null(named.Response);
        using var endpoints = Probe.Open(cache, "n", Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "*"));
        Assert.Null(endpoints.Response);
    }

    [Fact]
    public void Named_request_gets_only_what_it_names_and_a_missing_name_is_simply_absent()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());

        Receive(cache, Sotw(EnvoyResourceTypes.Cluster, "c2", "nope"), out var response);

        Assert.Equal(["c2"], Names.Of(response));
    }

    [Fact]
    public void No_response_when_nothing_the_subscriber_receives_changed()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "c2"), out _);

        // Same version: the ACK opens a watch that stays open.
        using var probe = Probe.Open(cache, "n", state.ApplySotwRequest(["c2"], "ignored"));
        Assert.Null(probe.Response);

        // A change to another endpoint (c1) and to listeners: still nothing for this subscriber.
        cache.TryGetSnapshot("n", out var current);
        cache.SetSnapshot("n", current!.ToBuilder().Set(Fixtures.Endpoints("c1", 99)).Set(Fixtures.Listener("l1", "r1", "x")).Build());
        Assert.Null(probe.Response);

        // Its own resource changes: answered.
        cache.TryGetSnapshot("n", out current);
        cache.SetSnapshot("n", current!.ToBuilder().Set(Fixtures.Endpoints("c2", 42)).Build());
        Assert.Equal(["c2"], Names.Of(probe.Response!));
    }

    [Fact]
    public void Listener_and_cluster_responses_carry_the_full_state()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.Listener), out _);

        using var update = Probe.Open(cache, "n", state);
        cache.SetSnapshot("n", ThreeOfEach(listenerTag: "changed"));
        Assert.Equal(["l1", "l2", "l3"], Names.Of(update.Response!)); // one changed, all three sent
        state = state.ApplyResponse(update.Response!);

        // A deletion is said by absence: the response carries the two that remain.
        using var deletion = Probe.Open(cache, "n", state);
        cache.TryGetSnapshot("n", out var current);
        var builder = current!.ToBuilder();
        builder.Remove(TypeUrls.Listener, "l3");
        cache.SetSnapshot("n", builder.Build());
        Assert.Equal(["l1", "l2"], Names.Of(deletion.Response!));
    }

    [Fact]
    public void Endpoint_responses_carry_only_what_changed_and_a_deletion_sends_nothing()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "c1", "c2", "c3"), out var first);
        Assert.Equal(["c1", "c2", "c3"], Names.Of(first));

        using var update = Probe.Open(cache, "n", state);
        cache.SetSnapshot("n", ThreeOfEach(endpointPort: 11));
        Assert.Equal(["c1"], Names.Of(update.Response!));
        state = state.ApplyResponse(update.Response!);

        using var deletion = Probe.Open(cache, "n", state);
        cache.TryGetSnapshot("n", out var current);
        var builder = current!.ToBuilder();
        builder.Remove(TypeUrls.Cluster, "c3");
        builder.Remove(TypeUrls.ClusterLoadAssignment, "c3");
        cache.SetSnapshot("n", builder.Build());
        Assert.Null(deletion.Response);
    }

    [Fact]
    public void Newly_requested_names_are_sent_even_when_unchanged()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "c1"), out _);

        Receive(cache, state.ApplySotwRequest(["c1", "c2"]), out var response);

        Assert.Equal(["c2"], Names.Of(response));
    }

    [Fact]
    public void A_name_that_does_not_exist_yet_is_sent_when_it_appears()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "c1", "later"), out var first);
        Assert.Equal(["c1"], Names.Of(first));

        using var probe = Probe.Open(cache, "n", state);
        Assert.Null(probe.Response);
        cache.TryGetSnapshot("n", out var current);
        cache.SetSnapshot("n", current!.ToBuilder().Add(Fixtures.Endpoints("later", 5)).Build());

        Assert.Equal(["later"], Names.Of(probe.Response!));
    }

    [Fact]
    public void Wildcard_transitions_follow_the_protocol_page()
    {
        var type = EnvoyResourceTypes.Cluster;
        var legacy = ClientState.ForSotw(type).ApplySotwRequest([]);
        Assert.True(legacy.Subscription.IsWildcard);

        var wildcardAndA = legacy.ApplySotwRequest(["*", "A"]);
        Assert.True(wildcardAndA.Subscription.IsWildcard);
        Assert.Equal(["A"], wildcardAndA.Subscription.Names);

        var onlyA = wildcardAndA.ApplySotwRequest(["A"]);
        Assert.False(onlyA.Subscription.IsWildcard);

        // Empty again: no longer the legacy wildcard, since names were sent: unsubscribed from everything.
        var nothing = onlyA.ApplySotwRequest([]);
        Assert.True(nothing.Subscription.IsEmpty);

        // Endpoints have no legacy wildcard: an empty first request subscribes to nothing; "*" still works.
        Assert.True(ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest([]).Subscription.IsEmpty);
        Assert.True(ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["*"]).Subscription.IsWildcard);
    }

    [Fact]
    public void Switching_from_names_to_wildcard_sends_the_resources_not_yet_held()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "c1"), out _);

        Receive(cache, state.ApplySotwRequest(["*"]), out var response);

        Assert.Equal(["c2", "c3"], Names.Of(response));
    }

    [Fact]
    public void A_nacked_version_is_not_sent_again_the_next_change_is()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Receive(cache, Sotw(EnvoyResourceTypes.Listener), out var rejected);

        // The NACK names the old version and carries error_detail; it changes no subscription, so the
        // state stays as recorded when the response was sent, and the watch waits.
        var afterNack = state.ApplySotwRequest([], versionInfo: "");
        Assert.Same(state, afterNack);
        using var probe = Probe.Open(cache, "n", afterNack);
        Assert.Null(probe.Response);

        cache.SetSnapshot("n", ThreeOfEach(listenerTag: "fixed"));
        Assert.NotNull(probe.Response);
        Assert.NotEqual(rejected.Version, probe.Response!.Version);
    }

    [Fact]
    public void A_reconnecting_wildcard_client_with_the_current_version_gets_nothing_until_a_change()
    {
        using var cache = new SnapshotCache();
        var snapshot = ThreeOfEach();
        cache.SetSnapshot("n", snapshot);

        var reconnected = ClientState.ForSotw(EnvoyResourceTypes.Cluster)
            .ApplySotwRequest([], versionInfo: snapshot.GetVersion(TypeUrls.Cluster));
        using (var probe = Probe.Open(cache, "n", reconnected))
        {
            // Told it holds the set (nothing to send); recorded, the state then waits for a change.
            Assert.True(probe.Response is { IsEmpty: true }, "a reconnect at the current version got something to send");
            using var next = Probe.Open(cache, "n", reconnected.ApplyResponse(probe.Response!));
            Assert.Null(next.Response);
        }

        var stale = ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([], versionInfo: "old");
        Assert.NotNull(Probe.Now(cache, "n", stale));
    }

    [Fact]
    public void A_watch_waits_for_the_first_snapshot_and_a_cancelled_watch_never_answers()
    {
        using var cache = new SnapshotCache();
        using var waiting = Probe.Open(cache, "n", Sotw(EnvoyResourceTypes.Cluster));
        var cancelled = Probe.Open(cache, "n", Sotw(EnvoyResourceTypes.Listener));
        Assert.Equal(2, cache.GetStatus("n")!.OpenWatches);

        cancelled.Dispose();
        Assert.Equal(1, cache.GetStatus("n")!.OpenWatches);
        cache.SetSnapshot("n", ThreeOfEach());

        Assert.Equal(["c1", "c2", "c3"], Names.Of(waiting.Response!));
        Assert.Null(cancelled.Response);
        Assert.Equal(0, cache.GetStatus("n")!.OpenWatches);
    }

    [Fact]
    public void A_response_applied_to_a_newer_state_is_refused()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var state = Sotw(EnvoyResourceTypes.ClusterLoadAssignment, "c1");
        var response = Probe.Now(cache, "n", state)!;
        var newer = state.ApplySotwRequest(["c1", "c2"]);

        var e = Assert.Throws<InvalidOperationException>(() => newer.ApplyResponse(response));
        Assert.Contains("computed from another state", e.Message);
    }

    [Fact]
    public void Fetch_answers_resources_not_modified_or_not_found()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", ThreeOfEach());
        var node = Fixtures.Node("n");

        var all = cache.Fetch(new FetchRequest(node, TypeUrls.Cluster, [], ""));
        Assert.Equal(FetchStatus.Ok, all.Status);
        Assert.Equal(["c1", "c2", "c3"], all.Resources.Select(r => r.Name));

        var named = cache.Fetch(new FetchRequest(node, TypeUrls.Cluster, ["c3", "zz"], ""));
        Assert.Equal(["c3"], named.Resources.Select(r => r.Name));

        Assert.Equal(FetchStatus.NotModified, cache.Fetch(new FetchRequest(node, TypeUrls.Cluster, [], all.Version)).Status);
        Assert.Equal(FetchStatus.NotFound, cache.Fetch(new FetchRequest(Fixtures.Node("other"), TypeUrls.Cluster, [], "")).Status);
        Assert.Equal(FetchStatus.NotFound, cache.Fetch(new FetchRequest(node, TypeUrls.Secret, [], "")).Status);
    }
}
