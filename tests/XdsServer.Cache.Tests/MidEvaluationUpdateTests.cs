namespace XdsServer.Cache.Tests;

/// <summary>An update that lands while an earlier one is still answering watches, and changes the very type
/// the earlier one is about to evaluate: the watch must be answered with the newest set, not the older one.</summary>
public class MidEvaluationUpdateTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_watch_reached_after_a_newer_update_changed_its_type_is_answered_with_the_newer_set()
    {
        using var cache = new SnapshotCache();
        var s1 = Snapshot.CreateBuilder().Add(Fixtures.Cluster("c")).Add(Fixtures.Endpoints("c", 1)).Build();
        cache.SetSnapshot("n", s1);
        ClientState Current(ClientState s) => s.ApplyResponse(Probe.Now(cache, "n", s)!);
        var cds = Current(ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]));
        var eds = Current(ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c"]));

        // S2 changes clusters and endpoints; S3 changes both again (unlike the interleaved test next door,
        // where S3 leaves endpoints alone and an answer computed from S2 has S3's version anyway).
        var s2 = s1.ToBuilder().Set(ClusterFullStateTests.Tagged("c", "2")).Set(Fixtures.Endpoints("c", 2)).Build();
        var s3 = s2.ToBuilder().Set(ClusterFullStateTests.Tagged("c", "3")).Set(Fixtures.Endpoints("c", 3)).Build();
        Assert.NotEqual(s2.GetVersion(TypeUrls.ClusterLoadAssignment), s3.GetVersion(TypeUrls.ClusterLoadAssignment));
        var cdsAtS2 = cds.ApplyResponse(ResponseTo(cds, s2));

        using var s3Started = new ManualResetEventSlim();
        using var s2Done = new ManualResetEventSlim();
        Thread? other = null;
        IDisposable? heldOpen = null;
        var otherFailed = (Exception?)null;

        // S2 answers clusters first. That callback starts S3 on another thread and returns only once S3 has
        // begun answering (it is then blocked in a clusters watch of its own until S2 is done), so S2 reaches
        // the endpoint watch after S3 took over but before S3 could answer it: deterministically.
        using var clusters = cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), cds), _ =>
        {
            heldOpen = cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), cdsAtS2), _ =>
            {
                s3Started.Set();
                s2Done.Wait(Wait);
            });
            other = new Thread(() =>
            {
                try
                {
                    cache.SetSnapshot("n", s3);
                }
                catch (Exception e)
                {
                    otherFailed = e;
                }
            });
            other.Start();
            Assert.True(s3Started.Wait(Wait), "S3 did not start answering watches");
        });
        using var endpoints = Probe.Open(cache, "n", eds);
        cache.SetSnapshot("n", s2);
        s2Done.Set();
        Assert.True(other!.Join(Wait), "S3's evaluation did not finish");
        heldOpen?.Dispose();
        Assert.Null(otherFailed);

        Assert.NotNull(endpoints.Response);
        Assert.Equal(s3.GetVersion(TypeUrls.ClusterLoadAssignment), endpoints.Response!.Version);
        // The answer names the snapshot its set came from (the server orders pushes by it), not the one whose update
        // reached the watch.
        Assert.Same(s3, endpoints.Response.Snapshot);
    }

    private static WatchResponse ResponseTo(ClientState state, Snapshot snapshot)
    {
        using var scratch = new SnapshotCache();
        scratch.SetSnapshot("n", snapshot);
        return Probe.Now(scratch, "n", state)!;
    }
}
