namespace XdsServer.Cache.Tests;

/// <summary>A delta stream's first request that lists what the client holds, measured against the set in force
/// (<see cref="ClientState.ResumeDelta"/>, <see cref="ClientState.TryResumeDelta"/>): the same answers as the
/// versions kept one by one, with the set as the baseline.</summary>
public class ResumeDeltaTests
{
    private static readonly ResourceType Eds = EnvoyResourceTypes.ClusterLoadAssignment;

    private static ResourceSet Set(params (string Name, int Port)[] endpoints)
    {
        var builder = Snapshot.CreateBuilder();
        foreach (var (name, port) in endpoints)
        {
            builder.Add(Fixtures.Endpoints(name, port));
        }

        return builder.Build().GetResources(Eds.TypeUrl)!;
    }

    private static ResourceSet Change(ResourceSet set, params (string Name, int Port)[] endpoints)
    {
        var builder = set.ToBuilder();
        foreach (var (name, port) in endpoints)
        {
            builder.Set(XdsResource.Create(Fixtures.Endpoints(name, port)));
        }

        return builder.Build();
    }

    private static Dictionary<string, string> Held(ResourceSet set, params string[] names) =>
        (names.Length == 0 ? set.Names : names).ToDictionary(n => n, n => set.TryGet(n, out var r) ? r.Version : "gone-version");

    /// <summary>What <paramref name="state"/> is sent from <paramref name="set"/>, as "sent [..] removed [..]" in name order.</summary>
    private static string Answer(ClientState state, ResourceSet set)
    {
        var response = state.Answer(set);
        return $"sent [{string.Join(",", (response?.Resources.Select(r => r.Name) ?? []).Order(StringComparer.Ordinal))}] " +
            $"removed [{string.Join(",", (response?.RemovedNames ?? []).Order(StringComparer.Ordinal))}]";
    }

    [Fact]
    public void An_up_to_date_client_is_recognised_by_its_digest_and_later_gets_only_changes()
    {
        var set = Set(("a", 1), ("b", 2), ("c", 3));
        var held = Held(set);
        var state = ClientState.ForDelta(Eds).TryResumeDelta(["a", "b", "c"], [], ResourceVersionsDigest.Of(held), set);

        Assert.NotNull(state);
        Assert.Null(state!.Answer(set)); // nothing to send
        Assert.All(held, h => Assert.Equal(h.Value, state.GetVersion(h.Key)));
        Assert.Equal(3, state.HeldResources().Count());

        var next = Change(set, ("b", 22));
        Assert.Equal("sent [b] removed []", Answer(state, next));
    }

    [Fact]
    public void Names_are_matched_by_digest_only_after_a_stream_resumed_with_them_against_the_same_set()
    {
        var set = Set(("a", 1), ("b", 2));
        var held = ResourceVersionsDigest.Of(Held(set));
        var names = ResourceNamesDigest.Of(["b", "a"]);
        Assert.Null(ClientState.ForDelta(Eds).TryResumeDelta(names, held, set)); // nothing to match yet

        Assert.NotNull(ClientState.ForDelta(Eds).TryResumeDelta(["a", "b"], [], held, set));
        var state = ClientState.ForDelta(Eds).TryResumeDelta(names, held, set);
        Assert.NotNull(state);
        Assert.Equal(["a", "b"], state!.Subscription.Names.Order(StringComparer.Ordinal));
        Assert.Null(state.Answer(set));

        Assert.Null(ClientState.ForDelta(Eds).TryResumeDelta(names, ResourceVersionsDigest.Of(Held(set, "a")), set)); // holds less
        Assert.Null(ClientState.ForDelta(Eds).TryResumeDelta(names, held, Change(set, ("a", 9)))); // another set
        Assert.Null(ClientState.ForDelta(Eds).TryResumeDelta(ResourceNamesDigest.Of(["*"]), held, set)); // a wildcard is other names
    }

    [Fact]
    public void A_legacy_wildcard_resume_is_not_matched_by_a_request_that_lists_the_wildcard()
    {
        var cds = EnvoyResourceTypes.Cluster;
        var clusters = Snapshot.CreateBuilder().Add(Fixtures.Cluster("a")).Build().GetResources(cds.TypeUrl)!;
        var held = ResourceVersionsDigest.Of(clusters.ToDictionary(r => r.Name, r => r.Version));
        var legacy = ClientState.ForDelta(cds).TryResumeDelta([], [], held, clusters); // an empty first request
        Assert.True(legacy!.Subscription.IsWildcard);
        Assert.False(legacy.Subscription.HasNamedResources);

        Assert.Null(ClientState.ForDelta(cds).TryResumeDelta(ResourceNamesDigest.Of(["*"]), held, clusters));
        Assert.NotNull(ClientState.ForDelta(cds).TryResumeDelta(["*"], [], held, clusters));
        var named = ClientState.ForDelta(cds).TryResumeDelta(ResourceNamesDigest.Of(["*"]), held, clusters);
        Assert.True(named!.Subscription is { IsWildcard: true, HasNamedResources: true });
    }

    [Fact]
    public void A_subscribed_name_the_set_lacks_is_reported_removed_on_the_digest_path()
    {
        var set = Set(("a", 1), ("b", 2));
        var state = ClientState.ForDelta(Eds).TryResumeDelta(["a", "b", "zzz"], [], ResourceVersionsDigest.Of(Held(set)), set);
        Assert.NotNull(state);
        Assert.Equal("sent [] removed [zzz]", Answer(state!, set));
    }

    [Fact]
    public void A_digest_that_differs_is_refused_and_the_versions_read_one_by_one_send_only_the_difference()
    {
        var set = Set(("a", 1), ("b", 2), ("c", 3));
        var held = Held(set);
        held["b"] = "old";
        var client = ClientState.ForDelta(Eds);
        Assert.Null(client.TryResumeDelta(["a", "b", "c"], [], ResourceVersionsDigest.Of(held), set));

        var state = client.ResumeDelta(["a", "b", "c"], [], held, set);
        Assert.Equal("sent [b] removed []", Answer(state, set));
        Assert.Equal("old", state.GetVersion("b"));
    }

    [Fact]
    public void A_wildcard_client_gets_what_it_did_not_list_and_the_removal_of_what_is_gone()
    {
        var set = Set(("a", 1), ("b", 2), ("c", 3));
        var held = Held(set, "a", "c", "deleted");
        var state = ClientState.ForDelta(Eds).ResumeDelta(["*"], [], held, set);
        Assert.Equal("sent [b] removed [deleted]", Answer(state, set));
    }

    [Fact]
    public void A_wildcard_reconnect_learns_that_a_name_subscribed_beside_it_does_not_exist()
    {
        // With the versions kept one by one (no set to resume against), as a new subscriber to the name would.
        var set = Set(("a", 1));
        var state = ClientState.ForDelta(Eds).ApplyDeltaRequest(["*", "zzz"], [], Held(set));
        Assert.Equal("sent [] removed [zzz]", Answer(state, set));
    }

    [Fact]
    public void Only_a_first_delta_request_of_the_same_type_resumes()
    {
        var set = Set(("a", 1));
        var held = Held(set);
        var applied = ClientState.ForDelta(Eds).ApplyDeltaRequest(["a"], []);
        Assert.Throws<InvalidOperationException>(() => applied.ResumeDelta(["a"], [], held, set));
        Assert.Throws<InvalidOperationException>(() => applied.TryResumeDelta(["a"], [], ResourceVersionsDigest.Of(held), set));
        Assert.Throws<InvalidOperationException>(() => ClientState.ForSotw(Eds).ResumeDelta(["a"], [], held, set));
        var clusters = Snapshot.CreateBuilder().Add(Fixtures.Cluster("a")).Build().GetResources(EnvoyResourceTypes.Cluster.TypeUrl)!;
        Assert.Throws<ArgumentException>(() => ClientState.ForDelta(Eds).ResumeDelta(["a"], [], held, clusters));
    }

    /// <summary>Many random reconnects: resuming against the set answers exactly as the versions kept one by one do
    /// (<see cref="ClientState.ApplyDeltaRequest"/>), now and after a later change.</summary>
    [Fact]
    public void Resuming_answers_as_the_versions_kept_one_by_one_answer()
    {
        var random = new Random(20261129);
        for (var round = 0; round < 300; round++)
        {
            var names = Enumerable.Range(0, random.Next(1, 30)).Select(i => $"svc-{i}").ToArray();
            var set = Set([.. names.Select(n => (n, random.Next(1, 5)))]);
            var wildcard = random.Next(3) == 0;
            string[] subscribed = wildcard
                ? ["*", .. names.Where(_ => random.Next(8) == 0), .. random.Next(4) == 0 ? new[] { "missing" } : []]
                : [.. names.Where(_ => random.Next(3) > 0), .. random.Next(4) == 0 ? new[] { "missing" } : []];
            var held = new Dictionary<string, string>();
            foreach (var name in names.Append("deleted").Append("missing"))
            {
                switch (random.Next(6))
                {
                    case 0: break; // not listed
                    case 1: held[name] = "stale"; break;
                    case 2: held[name] = string.Empty; break;
                    default:
                        if (set.TryGet(name, out var resource))
                        {
                            held[name] = resource.Version;
                        }

                        break;
                }
            }

            if (random.Next(4) == 0)
            {
                // An up-to-date client, so that the digest path is taken too.
                held = subscribed.Contains("*")
                    ? Held(set)
                    : subscribed.Where(set.Contains).ToDictionary(n => n, n => { set.TryGet(n, out var r); return r!.Version; });
            }

            var expected = ClientState.ForDelta(Eds).ApplyDeltaRequest(subscribed, [], held);
            var byDigest = ClientState.ForDelta(Eds).TryResumeDelta(subscribed, [], ResourceVersionsDigest.Of(held), set);
            var resumed = byDigest ?? ClientState.ForDelta(Eds).ResumeDelta(subscribed, [], held, set);
            var because = $"round {round}: subscribed [{string.Join(",", subscribed)}], held [{string.Join(",", held.Select(h => $"{h.Key}={h.Value}"))}]";
            AssertSameAnswer(expected, resumed, set, because);

            // A second stream listing the same names (another order) resumes from the digests alone once the first
            // did; a list the server saw differently (a name twice) is not matched.
            var byNames = ClientState.ForDelta(Eds).TryResumeDelta(ResourceNamesDigest.Of(subscribed.Reverse()), ResourceVersionsDigest.Of(held), set);
            Assert.True((byDigest is null) == (byNames is null), because + ": the names' digest and the names disagree");
            if (byNames is not null)
            {
                AssertSameAnswer(expected, byNames, set, because + ", by names");
                Assert.Null(ClientState.ForDelta(Eds).TryResumeDelta(ResourceNamesDigest.Of([.. subscribed, subscribed[0]]), ResourceVersionsDigest.Of(held), set));
            }

            var later = Change(set, ("svc-0", 99), ("new", 7));
            AssertSameAnswer(Settle(expected, set), Settle(resumed, set), later, because + ", after a change");
        }
    }

    private static ClientState Settle(ClientState state, ResourceSet set) =>
        state.Answer(set) is { } response ? state.ApplyResponse(response) : state;

    private static void AssertSameAnswer(ClientState expected, ClientState actual, ResourceSet set, string because)
    {
        var want = Answer(expected, set);
        var got = Answer(actual, set);
        Assert.True(want == got, $"{because}: versions kept one by one: {want}; resumed: {got}");
    }
}
