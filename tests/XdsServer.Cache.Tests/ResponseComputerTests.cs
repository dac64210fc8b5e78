using XdsServer.Cache.Internal;

namespace XdsServer.Cache.Tests;

/// <summary>The response computation on its own: one test per rule, against sets and client states built by hand
/// (explicit versions, so what the client holds is visible in each test).</summary>
public class ResponseComputerTests
{
    private static readonly ResourceType Eds = EnvoyResourceTypes.ClusterLoadAssignment;
    private static readonly ResourceType Cds = EnvoyResourceTypes.Cluster;
    private static readonly ResourceType Lds = EnvoyResourceTypes.Listener;

    internal static XdsResource Resource(ResourceType type, string name, string version = "1")
    {
        Google.Protobuf.IMessage message = type == Cds ? Fixtures.Cluster(name)
            : type == Lds ? Fixtures.Listener(name, "route")
            : Fixtures.Endpoints(name, 1);
        return XdsResource.Create(type, message, version);
    }

    /// <summary>A set of <paramref name="names"/> at version 1, added in the order given.</summary>
    internal static ResourceSet SetOf(ResourceType type, params string[] names)
    {
        var builder = ResourceSet.Empty(type).ToBuilder();
        foreach (var name in names)
        {
            builder.Set(Resource(type, name));
        }

        return builder.Build();
    }

    internal static ResourceSet Next(ResourceSet from, string[]? update = null, string[]? remove = null, string version = "2")
    {
        var builder = from.ToBuilder();
        foreach (var name in update ?? [])
        {
            builder.Set(Resource(from.Type, name, version));
        }

        foreach (var name in remove ?? [])
        {
            Assert.True(builder.Remove(name), $"{name} is in the set");
        }

        return builder.Build();
    }

    /// <summary>A state brought up to date with <paramref name="set"/> (its answer recorded).</summary>
    internal static ClientState UpToDate(ClientState state, ResourceSet set)
    {
        var response = ResponseComputer.Compute(state, set);
        Assert.NotNull(response);
        return state.ApplyResponse(response);
    }

    internal static string[] NamesOf(WatchResponse response) => [.. response.Resources.Select(r => r.Name)];

    [Fact]
    public void Nothing_subscribed_answers_nothing()
    {
        var clusters = SetOf(Cds, "c1");
        // Not a legacy wildcard: the client has sent no request yet.
        Assert.Null(ResponseComputer.Compute(ClientState.ForSotw(Cds), clusters));
        Assert.Null(ResponseComputer.Compute(ClientState.ForSotw(Cds), ResourceSet.Empty(Cds)));
        Assert.Null(ResponseComputer.Compute(ClientState.ForDelta(Eds), SetOf(Eds, "a")));

        // Unsubscribed from everything it had: a later change concerns it no more.
        var endpoints = SetOf(Eds, "a", "b");
        var state = UpToDate(ClientState.ForSotw(Eds).ApplySotwRequest(["a"]), endpoints).ApplySotwRequest([]);
        Assert.True(state.Subscription.IsEmpty);
        Assert.Null(ResponseComputer.Compute(state, Next(endpoints, update: ["a"], remove: ["b"])));
    }

    [Fact]
    public void A_client_up_to_date_with_the_current_set_needs_nothing()
    {
        var clusters = SetOf(Cds, "c1", "c2");
        var sotw = UpToDate(ClientState.ForSotw(Cds).ApplySotwRequest([]), clusters);
        var delta = UpToDate(ClientState.ForDelta(Cds).ApplyDeltaRequest(["c1", "missing"], []), clusters);

        Assert.Same(clusters, sotw.Baseline);
        Assert.Null(ResponseComputer.Compute(sotw, clusters));
        Assert.Null(ResponseComputer.Compute(delta, clusters));
    }

    [Theory]
    [InlineData("Cluster")]
    [InlineData("Listener")]
    public void A_SotW_wildcard_reconnect_at_the_current_version_needs_nothing(string typeName)
    {
        var type = typeName == "Cluster" ? Cds : Lds;
        var set = SetOf(type, "x1", "x2");

        // Nothing to send, said with an empty answer that records the set as held (a later type may reference it).
        var current = ClientState.ForSotw(type).ApplySotwRequest([], versionInfo: set.Version);
        var answer = ResponseComputer.Compute(current, set)!;
        Assert.True(answer.IsEmpty, "a reconnect at the current version was answered with something to send");
        Assert.Empty(answer.Resources);
        var held = current.ApplyResponse(answer);
        Assert.NotNull(held.GetVersion("x1"));
        Assert.Null(ResponseComputer.Compute(held, set));
        // The same from the memo (a second client in the same position).
        Assert.True(ResponseComputer.Compute(ClientState.ForSotw(type).ApplySotwRequest([], versionInfo: set.Version), set)!.IsEmpty);

        // At another version (or with no version) it gets the full state.
        var stale = ClientState.ForSotw(type).ApplySotwRequest([], versionInfo: "old");
        Assert.Equal(["x1", "x2"], NamesOf(ResponseComputer.Compute(stale, set)!));
        // A named subscription beside the wildcard is not "only a wildcard": answered.
        var named = ClientState.ForSotw(type).ApplySotwRequest(["*", "x1"], versionInfo: set.Version);
        Assert.NotNull(ResponseComputer.Compute(named, set));
    }

    [Fact]
    public void A_new_stream_gets_every_subscribed_resource_that_exists_in_name_order()
    {
        var endpoints = SetOf(Eds, "e", "c", "a", "d", "b");

        var named = ResponseComputer.Compute(ClientState.ForSotw(Eds).ApplySotwRequest(["d", "b", "zz", "a"]), endpoints)!;
        Assert.Equal(["a", "b", "d"], NamesOf(named));
        Assert.Empty(named.RemovedNames);

        var wildcard = ResponseComputer.Compute(ClientState.ForSotw(Cds).ApplySotwRequest([]), SetOf(Cds, "c3", "c1", "c2"))!;
        Assert.Equal(["c1", "c2", "c3"], NamesOf(wildcard));
    }

    [Fact]
    public void A_new_delta_stream_is_told_which_subscribed_names_do_not_exist()
    {
        var endpoints = SetOf(Eds, "b");
        var response = ResponseComputer.Compute(ClientState.ForDelta(Eds).ApplyDeltaRequest(["z", "b", "a"], []), endpoints)!;

        Assert.Equal(["b"], NamesOf(response));
        Assert.Equal(["a", "z"], response.RemovedNames);
    }

    [Fact]
    public void SotW_partial_types_get_only_what_changed_and_no_deletion()
    {
        var before = SetOf(Eds, "a", "b", "c", "d");
        var state = UpToDate(ClientState.ForSotw(Eds).ApplySotwRequest(["a", "b", "c"]), before);

        var changed = ResponseComputer.Compute(state, Next(before, update: ["c", "a", "d"], remove: ["b"]))!;
        Assert.Equal(["a", "c"], NamesOf(changed)); // d is not subscribed; b's deletion is not said in SotW
        Assert.Empty(changed.RemovedNames);

        Assert.Null(ResponseComputer.Compute(state, Next(before, remove: ["b"])));
    }

    [Theory]
    [InlineData("Cluster")]
    [InlineData("Listener")]
    public void SotW_listeners_and_clusters_get_the_full_state_on_any_change_and_on_a_deletion(string typeName)
    {
        var type = typeName == "Cluster" ? Cds : Lds;
        var before = SetOf(type, "x1", "x2", "x3", "other");
        var state = UpToDate(ClientState.ForSotw(type).ApplySotwRequest(["x1", "x2", "x3"]), before);

        Assert.Equal(["x1", "x2", "x3"], NamesOf(ResponseComputer.Compute(state, Next(before, update: ["x2"]))!));
        Assert.Equal(["x1", "x3"], NamesOf(ResponseComputer.Compute(state, Next(before, remove: ["x2"]))!));
        // A change to a resource it does not subscribe to is no change for it.
        Assert.Null(ResponseComputer.Compute(state, Next(before, update: ["other"])));
    }

    [Fact]
    public void Delta_gets_what_changed_and_what_was_removed_sorted()
    {
        var before = SetOf(Eds, "h", "a", "g", "b", "c", "f", "d", "e", "i");
        var state = UpToDate(ClientState.ForDelta(Eds).ApplyDeltaRequest(["*"], []), before);

        var response = ResponseComputer.Compute(state, Next(before, update: ["h", "e", "b", "a"], remove: ["g", "d", "i", "c"]))!;
        Assert.Equal(["a", "b", "e", "h"], NamesOf(response));
        Assert.Equal(["c", "d", "g", "i"], response.RemovedNames);
    }

    [Fact]
    public void A_delta_reconnect_holding_the_current_versions_gets_an_empty_answer_that_folds_into_one_baseline()
    {
        var endpoints = SetOf(Eds, "a", "b", "c");
        var state = ClientState.ForDelta(Eds).ApplyDeltaRequest(["a", "b"], [],
            new Dictionary<string, string> { ["a"] = "1", ["b"] = "1" });
        Assert.Equal(2, state.Exceptions.Count);

        var response = ResponseComputer.Compute(state, endpoints);
        Assert.NotNull(response);
        Assert.True(response.IsEmpty);

        var folded = state.ApplyResponse(response);
        Assert.Same(endpoints, folded.Baseline);
        Assert.True(folded.Exceptions.IsEmpty);
        Assert.Equal("1", folded.GetVersion("a"));
        Assert.Null(ResponseComputer.Compute(folded, endpoints));

        // One stale version: that resource is sent, nothing else.
        var stale = ClientState.ForDelta(Eds).ApplyDeltaRequest(["a", "b"], [],
            new Dictionary<string, string> { ["a"] = "1", ["b"] = "0" });
        Assert.Equal(["b"], NamesOf(ResponseComputer.Compute(stale, endpoints)!));
    }

    [Fact]
    public void Newly_subscribed_names_are_sent_again_even_when_held()
    {
        var endpoints = SetOf(Eds, "a", "b");

        var sotw = UpToDate(ClientState.ForSotw(Eds).ApplySotwRequest(["a", "b"]), endpoints);
        sotw = sotw.ApplySotwRequest(["a"]).ApplySotwRequest(["a", "b"]);
        Assert.Equal(["b"], NamesOf(ResponseComputer.Compute(sotw, endpoints)!));

        var delta = UpToDate(ClientState.ForDelta(Eds).ApplyDeltaRequest(["a", "b"], []), endpoints);
        delta = delta.ApplyDeltaRequest(["a", "gone"], []);
        var response = ResponseComputer.Compute(delta, endpoints)!;
        Assert.Equal(["a"], NamesOf(response));
        Assert.Equal(["gone"], response.RemovedNames);
    }

    [Fact]
    public void An_unsubscription_under_a_wildcard_sends_the_resource_again()
    {
        var clusters = SetOf(Cds, "c1", "c2");
        var state = UpToDate(ClientState.ForDelta(Cds).ApplyDeltaRequest(["*", "c1", "c9"], []), clusters);

        state = state.ApplyDeltaRequest([], ["c1", "c9"]);
        var response = ResponseComputer.Compute(state, clusters)!;
        Assert.Equal(["c1"], NamesOf(response)); // still covered by "*": the client cannot tell whether to keep it
        Assert.Equal(["c9"], response.RemovedNames);

        // Without the wildcard an unsubscribed name no longer matters.
        var named = UpToDate(ClientState.ForDelta(Cds).ApplyDeltaRequest(["c1", "c2"], []), clusters);
        Assert.Null(ResponseComputer.Compute(named.ApplyDeltaRequest([], ["c1"]), clusters));
    }
}
