using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Internal;

namespace XdsServer.Tests;

/// <summary>
/// The ordering component on its own, without a network (docs/architecture.md, invariant 6): it holds a type whose
/// response references a resource of an earlier type that will be sent (by the snapshot the response came from, or the
/// earlier type's waiting or held answer) but has not reached the client, and defers a removal a later type still
/// references.
/// </summary>
public class ResponseOrderingTests
{
    private sealed class Stream
    {
        private readonly Dictionary<string, TypeSlot> _slots = new(StringComparer.Ordinal);

        public Stream(bool delta)
        {
            Clusters = Add(EnvoyResourceTypes.Cluster, delta, "c");
            Routes = Add(EnvoyResourceTypes.RouteConfiguration, delta, "r");
            Ordering = new ResponseOrdering(_slots, NullLogger.Instance, 1);
        }

        public TypeSlot Clusters { get; }

        public TypeSlot Routes { get; }

        public ResponseOrdering Ordering { get; }

        private TypeSlot Add(ResourceType type, bool delta, string name)
        {
            var state = delta
                ? ClientState.ForDelta(type).ApplyDeltaRequest([name], [])
                : ClientState.ForSotw(type).ApplySotwRequest([name]);
            var slot = new TypeSlot(type, state);
            _slots.Add(type.TypeUrl, slot);
            return slot;
        }
    }

    /// <summary>What a snapshot cache answers <paramref name="slot"/>'s current state from <paramref name="snapshot"/>.</summary>
    private static WatchResponse Answer(TypeSlot slot, Snapshot snapshot)
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", snapshot);
        WatchResponse? answer = null;
        using var watch = cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), slot.State), r => answer = r);
        return answer ?? throw new InvalidOperationException($"the cache did not answer {slot.Type.ShortName} at once");
    }

    /// <summary>What a linear cache (no snapshot) answers <paramref name="slot"/>'s current state.</summary>
    private static WatchResponse AnswerWithoutSnapshot(TypeSlot slot, Google.Protobuf.IMessage resource)
    {
        var cache = new LinearCache(slot.Type);
        cache.UpdateResource(resource);
        WatchResponse? answer = null;
        using var watch = cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), slot.State), r => answer = r);
        var response = answer ?? throw new InvalidOperationException("the linear cache did not answer at once");
        Assert.Null(response.Snapshot);
        return response;
    }

    private static Snapshot WithCluster(string route, string cluster) =>
        Snapshot.CreateBuilder().Add(Fixtures.Route(route, cluster)).Add(Fixtures.Cluster(cluster)).Add(Fixtures.Endpoints(cluster, 1)).Build();

    private static Snapshot WithoutClusters(string route, string cluster) =>
        Snapshot.CreateBuilder().Add(Fixtures.Route(route, cluster)).Include(TypeUrls.Cluster).Build();

    private static void Send(TypeSlot slot, WatchResponse response) => slot.RecordSent(response, "1", DateTimeOffset.UnixEpoch);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_route_waits_for_a_cluster_its_snapshot_holds_until_the_client_has_it(bool delta)
    {
        var stream = new Stream(delta);
        var snapshot = WithCluster("r", "c");
        var routes = Answer(stream.Routes, snapshot);

        Assert.Null(stream.Ordering.Prepare(stream.Routes, routes));
        Assert.True(stream.Ordering.IsHeld(stream.Routes), "the route that references an unsent cluster was not held");

        // The loop computes the held type again once the cluster was sent.
        Send(stream.Clusters, Answer(stream.Clusters, snapshot));
        var again = Answer(stream.Routes, snapshot);
        Assert.Same(again, stream.Ordering.Prepare(stream.Routes, again));
        Assert.False(stream.Ordering.IsHeld(stream.Routes));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_route_goes_at_once_when_its_snapshot_lacks_the_cluster(bool delta)
    {
        var stream = new Stream(delta);
        var routes = Answer(stream.Routes, WithoutClusters("r", "c"));

        Assert.Same(routes, stream.Ordering.Prepare(stream.Routes, routes));
        Assert.False(stream.Ordering.IsHeld(stream.Routes));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_removal_still_referenced_by_a_later_type_is_deferred_and_released_once_the_reference_is_gone(bool delta)
    {
        var stream = new Stream(delta);
        var before = WithCluster("r", "c");
        Send(stream.Clusters, Answer(stream.Clusters, before));
        Send(stream.Routes, Answer(stream.Routes, before));

        // The cluster goes while the route the client holds still points at it: keep it.
        var withoutC = WithoutClusters("r", "c");
        var removal = Answer(stream.Clusters, withoutC);
        var prepared = stream.Ordering.Prepare(stream.Clusters, removal);
        Assert.NotNull(prepared);
        Assert.NotSame(removal, prepared);
        Assert.True(stream.Ordering.HasDeferredRemovals(stream.Clusters));
        if (delta)
        {
            Assert.Contains("c", removal.RemovedNames);
            Assert.DoesNotContain("c", prepared.RemovedNames);
        }
        else
        {
            Assert.DoesNotContain(removal.Resources, r => r.Name == "c");
            Assert.Contains(prepared.Resources, r => r.Name == "c");
        }

        Send(stream.Clusters, prepared);

        // The route moves to another cluster; now the removal goes.
        var after = Snapshot.CreateBuilder().Add(Fixtures.Route("r", "other")).Include(TypeUrls.Cluster).Build();
        Send(stream.Routes, Answer(stream.Routes, after));
        var release = Answer(stream.Clusters, after);
        Assert.Same(release, stream.Ordering.Prepare(stream.Clusters, release));
        Assert.False(stream.Ordering.HasDeferredRemovals(stream.Clusters));
        Assert.True(delta ? release.RemovedNames.Contains("c") : release.Resources.All(r => r.Name != "c"),
            "the cluster was not removed once nothing referenced it");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_a_snapshot_only_the_earlier_types_waiting_answer_says_the_cluster_will_be_sent(bool delta)
    {
        var stream = new Stream(delta);
        var routes = AnswerWithoutSnapshot(stream.Routes, Fixtures.Route("r", "c"));

        Assert.Same(routes, stream.Ordering.Prepare(stream.Routes, routes)); // nothing says the cluster comes

        stream.Clusters.Answers = new Waiting(Answer(stream.Clusters, WithCluster("r", "c")));
        Assert.Null(stream.Ordering.Prepare(stream.Routes, routes));
        Assert.True(stream.Ordering.IsHeld(stream.Routes), "a waiting cluster answer carrying the reference did not hold the route");
    }

    /// <summary>A one-shot watch's answer not taken yet.</summary>
    private sealed class Waiting(WatchResponse response) : ITypeAnswers
    {
        public bool NeedsLook => false;

        WatchResponse? ITypeAnswers.Waiting => response;

        public WatchResponse? Answer(ClientState state) => null;

        public bool TryGetCurrent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceSet? current)
        {
            current = null;
            return false;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>A cache that signals: the set of the type in force now.</summary>
    private sealed class Current(ResourceSet set) : ITypeAnswers
    {
        public bool NeedsLook => false;

        public WatchResponse? Waiting => null;

        public WatchResponse? Answer(ClientState state) => null;

        public bool TryGetCurrent([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceSet? current)
        {
            current = set;
            return true;
        }

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_cluster_removed_since_the_routes_snapshot_holds_nothing_back(bool delta)
    {
        // The route was computed from a snapshot that had the cluster, but the clusters' set in force now (a later
        // update) has it no more: the cluster will not come, and waiting for it would hold the route until it does.
        var stream = new Stream(delta);
        var withCluster = WithCluster("r", "c");
        var routes = Answer(stream.Routes, withCluster);
        var later = WithoutClusters("r", "c");

        stream.Clusters.Answers = new Current(withCluster.GetResources(TypeUrls.Cluster)!);
        Assert.Null(stream.Ordering.Prepare(stream.Routes, routes));

        stream.Clusters.Answers = new Current(later.GetResources(TypeUrls.Cluster) ?? ResourceSet.Empty(EnvoyResourceTypes.Cluster));
        Assert.Same(routes, stream.Ordering.Prepare(stream.Routes, routes));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_a_snapshot_the_clusters_set_in_force_says_the_cluster_will_be_sent(bool delta)
    {
        // Routes and clusters from two caches of one type (a MuxCache): no snapshot, but the clusters' own cache says
        // it has the cluster, so the route waits for it.
        var stream = new Stream(delta);
        var routes = AnswerWithoutSnapshot(stream.Routes, Fixtures.Route("r", "c"));
        stream.Clusters.Answers = new Current(WithCluster("r", "c").GetResources(TypeUrls.Cluster)!);
        Assert.Null(stream.Ordering.Prepare(stream.Routes, routes));
        Assert.True(stream.Ordering.IsHeld(stream.Routes), "the cluster in the clusters' set did not hold the route");
    }

    [Fact]
    public void A_cluster_held_itself_still_counts_as_coming()
    {
        // A chain: the cluster's own answer is held (behind a secret it references that the client lacks), and a
        // route referencing that cluster must wait for it too, even with no snapshot to ask.
        var stream = new Stream(delta: false);
        var routes = AnswerWithoutSnapshot(stream.Routes, Fixtures.Route("r", "c"));
        var secrets = new Dictionary<string, TypeSlot>(StringComparer.Ordinal)
        {
            [TypeUrls.Cluster] = stream.Clusters,
            [TypeUrls.RouteConfiguration] = stream.Routes,
        };
        var ordering = new ResponseOrdering(secrets, NullLogger.Instance, 1);
        var secretSlot = new TypeSlot(EnvoyResourceTypes.Secret, ClientState.ForSotw(EnvoyResourceTypes.Secret).ApplySotwRequest(["s"]));
        secrets[TypeUrls.Secret] = secretSlot;
        var withSecret = Snapshot.CreateBuilder().Add(Fixtures.Cluster("c", secret: "s")).Add(Fixtures.Endpoints("c", 1)).Add(Fixtures.Secret("s")).Build();
        var securedClusters = Answer(stream.Clusters, withSecret);
        Assert.Null(ordering.Prepare(stream.Clusters, securedClusters));
        Assert.True(ordering.IsHeld(stream.Clusters));

        Assert.Null(ordering.Prepare(stream.Routes, routes));
        Assert.True(ordering.IsHeld(stream.Routes), "a held cluster answer did not hold the route that references it");
    }
}
