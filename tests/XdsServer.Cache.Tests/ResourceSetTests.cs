namespace XdsServer.Cache.Tests;

public class ResourceSetTests
{
    private static ResourceSet Endpoints(int count)
    {
        var builder = ResourceSet.Empty(EnvoyResourceTypes.ClusterLoadAssignment).ToBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Set(Fixtures.Endpoints($"e{i}", 1000 + i));
        }

        return builder.Build();
    }

    [Fact]
    public void Building_without_a_change_returns_the_same_set()
    {
        var set = Endpoints(3);
        var builder = set.ToBuilder();
        set.TryGet("e1", out var e1);
        builder.Set(e1!);                                  // same resource
        builder.Set(XdsResource.Create(Fixtures.Endpoints("e2", 1002))); // equal content, equal version
        builder.Set(e1!.Message);                          // the very message held: not even serialized

        Assert.Same(set, builder.Build());
    }

    [Fact]
    public void Type_version_follows_content_not_history()
    {
        var a = Endpoints(3);
        var changed = a.ToBuilder().Set(Fixtures.Endpoints("e1", 9)).Build();
        var reverted = changed.ToBuilder().Set(Fixtures.Endpoints("e1", 1001)).Build();
        var rebuilt = Endpoints(3);

        Assert.NotEqual(a.Version, changed.Version);
        Assert.Equal(a.Version, reverted.Version);
        Assert.Equal(a.Version, rebuilt.Version);
        Assert.Equal("v-explicit", a.ToBuilder().SetVersion("v-explicit").Build().Version);
    }

    [Fact]
    public void Diff_from_the_history_equals_the_full_diff()
    {
        var before = Endpoints(50);
        var after = before.ToBuilder()
            .Set(Fixtures.Endpoints("e3", 1))
            .Set(Fixtures.Endpoints("new", 2));
        after.Remove("e7");
        var built = after.Build();

        var viaHistory = built.DiffFrom(before);
        var viaFullCompare = built.DiffFrom(Endpoints(50)); // equal content, other lineage: full comparison

        Assert.Equal(["new"], viaHistory.Added);
        Assert.Equal(["e3"], viaHistory.Updated);
        Assert.Equal(["e7"], viaHistory.Removed);
        Assert.Equal(viaHistory, viaFullCompare, new DiffComparer());
        Assert.True(built.DiffFrom(built).IsEmpty);
    }

    [Fact]
    public void Diff_across_more_generations_than_the_history_keeps_falls_back_correctly()
    {
        var first = Endpoints(10);
        var set = first;
        for (var i = 0; i < 40; i++)
        {
            set = set.ToBuilder().Set(Fixtures.Endpoints($"e{i % 10}", 5000 + i)).Build();
        }

        var diff = set.DiffFrom(first);
        Assert.Empty(diff.Added);
        Assert.Empty(diff.Removed);
        Assert.Equal(10, diff.Updated.Count);
    }

    [Fact]
    public void A_branch_from_an_older_set_starts_its_own_lineage()
    {
        var root = Endpoints(5);
        var left = root.ToBuilder().Set(Fixtures.Endpoints("e0", 1)).Build();
        var right = root.ToBuilder().Set(Fixtures.Endpoints("e1", 1)).Build();

        Assert.Equal(["e1"], right.DiffFrom(root).Updated);
        Assert.Equal(["e0"], left.DiffFrom(root).Updated);
        Assert.Equal(["e0", "e1"], right.DiffFrom(left).Updated);
    }

    [Fact]
    public void Adding_a_name_twice_is_refused()
    {
        var builder = ResourceSet.Empty(EnvoyResourceTypes.Cluster).ToBuilder();
        builder.Add(XdsResource.Create(Fixtures.Cluster("c")));
        var e = Assert.Throws<InvalidOperationException>(() => builder.Add(XdsResource.Create(Fixtures.Cluster("c"))));
        Assert.Contains("Cluster 'c' is added twice", e.Message);
    }

    [Fact]
    public void Resource_of_another_type_is_refused()
    {
        var builder = ResourceSet.Empty(EnvoyResourceTypes.Cluster).ToBuilder();
        var e = Assert.Throws<ArgumentException>(() => builder.Set(XdsResource.Create(Fixtures.Endpoints("x", 1))));
        Assert.Contains("cannot go into a set of Cluster resources", e.Message);
    }

    private sealed class DiffComparer : IEqualityComparer<ResourceSetDiff>
    {
        public bool Equals(ResourceSetDiff? x, ResourceSetDiff? y) =>
            x!.Added.SequenceEqual(y!.Added) && x.Updated.SequenceEqual(y.Updated) && x.Removed.SequenceEqual(y.Removed);

        public int GetHashCode(ResourceSetDiff obj) => 0;
    }
}
