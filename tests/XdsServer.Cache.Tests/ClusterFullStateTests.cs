namespace XdsServer.Cache.Tests;

/// <summary>State of the world for clusters is full state, as for listeners: every update carries every
/// subscribed cluster, and a deletion is said by absence.</summary>
public class ClusterFullStateTests
{
    private static Snapshot Three(string c1Tag = "") => Snapshot.CreateBuilder()
        .Add(Tagged("c1", c1Tag)).Add(Fixtures.Cluster("c2")).Add(Fixtures.Cluster("c3"))
        .Add(Fixtures.Endpoints("c1", 1)).Add(Fixtures.Endpoints("c2", 2)).Add(Fixtures.Endpoints("c3", 3))
        .Build();

    /// <summary>Cluster <paramref name="name"/> with a metadata tag: a change that references nothing new.</summary>
    internal static Envoy.Config.Cluster.V3.Cluster Tagged(string name, string tag)
    {
        var cluster = Fixtures.Cluster(name);
        var fields = new Google.Protobuf.WellKnownTypes.Struct();
        fields.Fields["tag"] = Google.Protobuf.WellKnownTypes.Value.ForString(tag);
        cluster.Metadata = new Envoy.Config.Core.V3.Metadata();
        cluster.Metadata.FilterMetadata["test"] = fields;
        return cluster;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_change_to_one_cluster_sends_every_subscribed_cluster_and_a_deletion_sends_the_rest(bool wildcard)
    {
        string[] names = wildcard ? [] : ["c1", "c2", "c3"];
        using var cache = new SnapshotCache();
        cache.SetSnapshot("n", Three());
        var state = ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest(names);
        var first = Probe.Now(cache, "n", state)!;
        Assert.Equal(["c1", "c2", "c3"], Names.Of(first));
        state = state.ApplyResponse(first);

        using var update = Probe.Open(cache, "n", state);
        cache.SetSnapshot("n", Three(c1Tag: "changed"));
        Assert.Equal(["c1", "c2", "c3"], Names.Of(update.Response!)); // one changed, all three sent
        state = state.ApplyResponse(update.Response!);

        using var deletion = Probe.Open(cache, "n", state);
        cache.TryGetSnapshot("n", out var current);
        var builder = current!.ToBuilder();
        builder.Remove(TypeUrls.Cluster, "c3");
        builder.Remove(TypeUrls.ClusterLoadAssignment, "c3");
        cache.SetSnapshot("n", builder.Build());
        Assert.Equal(["c1", "c2"], Names.Of(deletion.Response!));
    }
}
