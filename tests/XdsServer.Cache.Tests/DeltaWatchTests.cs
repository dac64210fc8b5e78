namespace XdsServer.Cache.Tests;

/// <summary>Delta (incremental) semantics, rule by rule from the xDS protocol page.</summary>
public class DeltaWatchTests
{
    private static readonly ResourceType Eds = EnvoyResourceTypes.ClusterLoadAssignment;
    private static readonly ResourceType Cds = EnvoyResourceTypes.Cluster;

    private static Snapshot Clusters(params (string Name, int Port)[] clusters)
    {
        var builder = Snapshot.CreateBuilder();
        foreach (var (name, port) in clusters)
        {
            builder.Add(Fixtures.Cluster(name, serviceName: name + "-eds")).Add(Fixtures.Endpoints(name + "-eds", port));
        }

        return builder.Build();
    }

    private static ClientState Delta(ResourceType type, string[] subscribe, string[]? unsubscribe = null,
        IReadOnlyDictionary<string, string>? initial = null) =>
        ClientState.ForDelta(type).ApplyDeltaRequest(subscribe, unsubscribe ?? [], initial);

    private static ClientState Receive(ICache cache, ClientState state, out WatchResponse response)
    {
        response = Probe.Now(cache, "n", state) ?? throw new Xunit.Sdk.XunitException($"no response for {state}");
        return state.ApplyResponse(response);
    }

    private static void Update(SnapshotCache cache, Action<SnapshotBuilder> change)
    {
        cache.TryGetSnapshot("n", out var current);
        var builder = current!.ToBuilder();
        change(builder);
        cache.SetSnapshot("n", builder.Build());
    }

    [Fact]
    public void Empty_first_request_for_clusters_is_a_wildcard()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2)));

        Receive(cache, Delta(Cds, []), out var response);

        Assert.True(response.IsDelta);
        Assert.Equal(["a", "b"], Names.Of(response));
        Assert.Empty(response.RemovedNames);
    }

    [Fact]
    public void Named_subscription_gets_its_names_and_a_missing_name_is_reported_removed()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2)));

        var state = Receive(cache, Delta(Eds, ["a-eds", "ghost"]), out var response);

        Assert.Equal(["a-eds"], Names.Of(response));
        Assert.Equal(["ghost"], response.RemovedNames);
        Assert.Null(Probe.Now(cache, "n", state)); // told once; nothing more until a change
    }

    [Fact]
    public void Only_changed_resources_are_sent_and_deleted_ones_are_removed()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2), ("c", 3)));
        var state = Receive(cache, Delta(Eds, ["*"]), out _);

        using var probe = Probe.Open(cache, "n", state);
        Update(cache, b =>
        {
            b.Set(Fixtures.Endpoints("a-eds", 10));
            b.Remove(TypeUrls.Cluster, "c");
            b.Remove(TypeUrls.ClusterLoadAssignment, "c-eds");
        });

        Assert.Equal(["a-eds"], Names.Of(probe.Response!));
        Assert.Equal(["c-eds"], probe.Response!.RemovedNames);
    }

    [Fact]
    public void Unsubscribed_resource_is_never_sent_again_until_resubscribed_then_sent_even_if_unchanged()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2)));
        var state = Receive(cache, Delta(Eds, ["a-eds", "b-eds"]), out _);

        state = state.ApplyDeltaRequest([], ["b-eds"]);
        using (var probe = Probe.Open(cache, "n", state))
        {
            Assert.Null(probe.Response); // unsubscribing alone needs no response
            Update(cache, b => b.Set(Fixtures.Endpoints("b-eds", 20)));
            Assert.Null(probe.Response);
        }

        // Re-subscribing: "the server must still provide those resources".
        Receive(cache, state.ApplyDeltaRequest(["b-eds"], []), out var response);
        Assert.Equal(["b-eds"], Names.Of(response));

        // Subscribing again to something already held and current is answered too.
        Receive(cache, state.ApplyDeltaRequest(["a-eds"], []), out var again);
        Assert.Equal(["a-eds"], Names.Of(again));
    }

    [Fact]
    public void Reconnect_with_initial_versions_resends_only_what_differs_and_removes_what_is_gone()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2), ("c", 3)));
        cache.TryGetSnapshot("n", out var before);
        var held = before!.GetResources(TypeUrls.ClusterLoadAssignment)!.ToDictionary(r => r.Name, r => r.Version);

        // While the client was away: b changed, c was deleted, d was added.
        Update(cache, b =>
        {
            b.Set(Fixtures.Endpoints("b-eds", 22));
            b.Remove(TypeUrls.Cluster, "c");
            b.Remove(TypeUrls.ClusterLoadAssignment, "c-eds");
            b.Add(Fixtures.Cluster("d", serviceName: "d-eds")).Add(Fixtures.Endpoints("d-eds", 4));
        });

        Receive(cache, Delta(Eds, ["*"], initial: held), out var response);

        Assert.Equal(["b-eds", "d-eds"], Names.Of(response)); // a-eds unchanged: not re-sent
        Assert.Equal(["c-eds"], response.RemovedNames);
    }

    [Fact]
    public void Reconnect_with_every_version_current_gets_an_empty_answer_that_makes_the_set_its_baseline()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2)));
        cache.TryGetSnapshot("n", out var current);
        var set = current!.GetResources(TypeUrls.ClusterLoadAssignment)!;
        var held = set.ToDictionary(r => r.Name, r => r.Version);

        foreach (var reconnect in new[] { Delta(Eds, ["*"], initial: held), Delta(Eds, ["a-eds", "b-eds"], initial: held) })
        {
            // Nothing to send, but the state learns it holds the set (one reference, no per-name versions).
            var answer = Probe.Now(cache, "n", reconnect);
            Assert.NotNull(answer);
            Assert.True(answer.IsEmpty);
            Assert.Same(set, answer.Source);
            var adopted = reconnect.ApplyResponse(answer);
            Assert.Equal(held.OrderBy(p => p.Key, StringComparer.Ordinal),
                adopted.HeldResources().Select(r => KeyValuePair.Create(r.Name, r.Version)).OrderBy(p => p.Key, StringComparer.Ordinal));

            // And from then on it is an ordinary up-to-date client: no answer until something changes.
            Assert.Null(Probe.Now(cache, "n", adopted));
        }
    }

    [Fact]
    public void Unsubscribing_a_name_also_covered_by_the_wildcard_resends_it()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Clusters(("a", 1), ("b", 2)));
        var state = Receive(cache, Delta(Eds, ["*", "a-eds", "ghost"]), out _);

        Receive(cache, state.ApplyDeltaRequest([], ["a-eds", "ghost"]), out var response);

        // "the server must send a response that includes the specific resource in either removed_resources
        // (if it is not included in the wildcard) or resources (if it is)".
        Assert.Equal(["a-eds"], Names.Of(response));
        Assert.Equal(["ghost"], response.RemovedNames);
    }

    [Fact]
    public void Legacy_wildcard_becomes_explicit_and_can_be_left()
    {
        var legacy = Delta(Cds, []);
        Assert.True(legacy.Subscription.IsWildcard);

        var plusA = legacy.ApplyDeltaRequest(["A"], []);
        Assert.True(plusA.Subscription.IsWildcard); // "continuing the existing subscription to *"

        var onlyA = plusA.ApplyDeltaRequest([], ["*"]);
        Assert.False(onlyA.Subscription.IsWildcard);
        Assert.Equal(["A"], onlyA.Subscription.Names);

        var none = onlyA.ApplyDeltaRequest([], ["A"]);
        Assert.True(none.Subscription.IsEmpty); // not the legacy wildcard again
        Assert.Same(none, none.ApplyDeltaRequest([], ["phantom"]));
    }

    [Fact]
    public void A_state_of_one_protocol_refuses_requests_of_the_other()
    {
        Assert.Throws<InvalidOperationException>(() => ClientState.ForDelta(Cds).ApplySotwRequest([]));
        Assert.Throws<InvalidOperationException>(() => ClientState.ForSotw(Cds).ApplyDeltaRequest([], []));
    }
}
