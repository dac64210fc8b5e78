namespace XdsServer.Cache.Tests;

public class SnapshotTests
{
    internal static Snapshot HelloChain(int port = 8080) => Snapshot.CreateBuilder()
        .Add(Fixtures.Listener("hello", "hello-route"))
        .Add(Fixtures.Route("hello-route", "hello-cluster"))
        .Add(Fixtures.Cluster("hello-cluster"))
        .Add(Fixtures.Endpoints("hello-cluster", port))
        .Build();

    [Fact]
    public void Snapshot_holds_one_set_per_type_in_ads_order()
    {
        var snapshot = HelloChain();

        Assert.Equal(
            [TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment, TypeUrls.Listener, TypeUrls.RouteConfiguration],
            snapshot.ResourceSets.Select(s => s.TypeUrl));
        Assert.Equal(4, snapshot.Count);
        Assert.Equal(string.Empty, snapshot.GetVersion(TypeUrls.Secret));
        Assert.True(snapshot.Validate().IsValid);
    }

    [Fact]
    public void Derived_snapshot_shares_unchanged_sets()
    {
        var first = HelloChain();
        var second = first.ToBuilder().Set(Fixtures.Endpoints("hello-cluster", 9090)).Build();

        Assert.Same(first.GetResources(TypeUrls.Listener), second.GetResources(TypeUrls.Listener));
        Assert.Same(first.GetResources(TypeUrls.Cluster), second.GetResources(TypeUrls.Cluster));
        Assert.NotSame(first.GetResources(TypeUrls.ClusterLoadAssignment), second.GetResources(TypeUrls.ClusterLoadAssignment));
        Assert.NotEqual(first.GetVersion(TypeUrls.ClusterLoadAssignment), second.GetVersion(TypeUrls.ClusterLoadAssignment));
    }

    [Fact]
    public void Validation_reports_every_dangling_reference_at_once_naming_the_resources()
    {
        var snapshot = Snapshot.CreateBuilder()
            .Add(Fixtures.Listener("l1", "missing-route"))
            .Add(Fixtures.Listener("l2", "present-route"))
            .Add(Fixtures.Route("present-route", "c1"))
            .Add(Fixtures.Cluster("c1"))                               // EDS name = cluster name: missing
            .Add(Fixtures.Cluster("c2", serviceName: "c2-endpoints"))  // EDS name = service_name: present
            .Add(Fixtures.Endpoints("c2-endpoints", 1))
            .Add(Fixtures.Cluster("c3", secret: "c3-cert"))            // SDS ref, but no secrets carried: fine
            .Add(Fixtures.Endpoints("c3", 1))
            .Build();

        var result = snapshot.Validate();

        Assert.False(result.IsValid);
        Assert.Equal(
        [
            "Cluster 'c1' references ClusterLoadAssignment 'c1', which the snapshot does not contain",
            "Listener 'l1' references RouteConfiguration 'missing-route', which the snapshot does not contain",
        ], result.Problems.Select(p => p.Message));
        Assert.Equal(("c1", TypeUrls.Cluster), (result.Problems[0].ResourceName, result.Problems[0].TypeUrl));
    }

    [Fact]
    public void Secrets_are_checked_once_the_snapshot_carries_secrets()
    {
        var builder = Snapshot.CreateBuilder()
            .Add(Fixtures.Cluster("c", secret: "cert"))
            .Add(Fixtures.Endpoints("c", 1))
            .Add(Fixtures.Secret("other"));

        var missing = builder.Build().Validate();
        Assert.Equal(["Cluster 'c' references Secret 'cert', which the snapshot does not contain"],
            missing.Problems.Select(p => p.Message));

        builder.Add(Fixtures.Secret("cert"));
        Assert.True(builder.Build().Validate().IsValid);
    }

    [Fact]
    public void Cache_refuses_an_inconsistent_snapshot_and_keeps_the_previous_one()
    {
        using var cache = new SnapshotCache();
        var good = HelloChain();
        cache.SetSnapshot("n", good);

        // Removing the endpoints of a cluster that still points at them: caught by the incremental check.
        var builder = good.ToBuilder();
        builder.Remove(TypeUrls.ClusterLoadAssignment, "hello-cluster");
        var bad = builder.Build();

        var e = Assert.Throws<InvalidSnapshotException>(() => cache.SetSnapshot("n", bad));
        Assert.Equal("n", e.Group);
        Assert.Contains("Cluster 'hello-cluster' references ClusterLoadAssignment 'hello-cluster'", e.Message);
        Assert.True(cache.TryGetSnapshot("n", out var kept));
        Assert.Same(good, kept);
    }

    [Fact]
    public void Incremental_validation_checks_changed_referrers()
    {
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", HelloChain());
        cache.TryGetSnapshot("n", out var current);
        var bad = current!.ToBuilder().Set(Fixtures.Listener("hello", "nowhere")).Build();

        var e = Assert.Throws<InvalidSnapshotException>(() => cache.SetSnapshot("n", bad));
        Assert.Contains("Listener 'hello' references RouteConfiguration 'nowhere'", e.Message);
    }

    [Fact]
    public void Cache_accepts_inconsistent_snapshots_when_told_to()
    {
        using var cache = new SnapshotCache(new SnapshotCacheOptions { RejectInvalidSnapshots = false });
        cache.SetSnapshot("n", Snapshot.CreateBuilder().Add(Fixtures.Listener("l", "missing")).Build());
        Assert.True(cache.TryGetSnapshot("n", out _));
    }

    [Fact]
    public void Builder_refuses_duplicates_and_unknown_types()
    {
        var builder = Snapshot.CreateBuilder().Add(Fixtures.Cluster("c"));
        Assert.Throws<InvalidOperationException>(() => builder.Add(Fixtures.Cluster("c")));
        builder.Set(Fixtures.Cluster("c")); // Set replaces
        var e = Assert.Throws<ArgumentException>(() => builder.For("type.googleapis.com/nope.Nothing"));
        Assert.Contains("Unknown resource type URL 'type.googleapis.com/nope.Nothing'", e.Message);
    }
}
