using System.Collections.Concurrent;

namespace XdsServer.Cache.Tests;

public class ConcurrencyTests
{
    private static Snapshot Generation(Snapshot? previous, int generation)
    {
        var builder = previous?.ToBuilder() ?? Snapshot.CreateBuilder();
        for (var i = 0; i < 20; i++)
        {
            builder.Set(Fixtures.Cluster($"c{i}"));
            builder.Set(Fixtures.Endpoints($"c{i}", (generation * 100) + i));
        }

        return builder.Build();
    }

    [Fact]
    public async Task Many_streams_and_concurrent_updates_lose_no_update_and_never_deadlock()
    {
        using var cache = new SnapshotCache();
        const int streams = 200;
        const int updaters = 4;
        const int updatesEach = 50;

        // Every stream behaves like a client: watch, take the response, ACK (new watch), until it holds the
        // final version. Streams alternate SotW and delta, wildcard and named.
        var final = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new ConcurrentDictionary<int, string>();
        async Task Stream(int id)
        {
            var type = EnvoyResourceTypes.ClusterLoadAssignment;
            var state = (id % 4) switch
            {
                0 => ClientState.ForSotw(type).ApplySotwRequest(["*"]),
                1 => ClientState.ForSotw(type).ApplySotwRequest(["c1", "c7"]),
                2 => ClientState.ForDelta(type).ApplyDeltaRequest(["*"], []),
                _ => ClientState.ForDelta(type).ApplyDeltaRequest(["c3", "c19"], []),
            };
            var group = $"g{id % 3}";
            using var registration = cache.TrackStream(Fixtures.Node(group));
            while (true)
            {
                var response = new TaskCompletionSource<WatchResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (cache.CreateWatch(new WatchRequest(Fixtures.Node(group), state), r => response.TrySetResult(r)))
                {
                    var done = await Task.WhenAny(response.Task, final.Task);
                    if (done == response.Task)
                    {
                        state = state.ApplyResponse(response.Task.Result);
                        received[id] = response.Task.Result.Version;
                        continue;
                    }
                }

                // The final version is set: this stream must hold it, or get it now.
                var last = Probe.Now(cache, group, state);
                if (last is not null)
                {
                    state = state.ApplyResponse(last);
                    received[id] = last.Version;
                }

                Assert.Null(Probe.Now(cache, group, state));
                Assert.Equal(await final.Task, received[id]);
                return;
            }
        }

        var clients = Enumerable.Range(0, streams).Select(i => Task.Run(() => Stream(i))).ToArray();
        await Task.WhenAll(Enumerable.Range(0, updaters).Select(u => Task.Run(() =>
        {
            for (var g = 0; g < updatesEach; g++)
            {
                var group = $"g{(u + g) % 3}";
                var snapshot = Generation(null, (u * updatesEach) + g);
                cache.SetSnapshot(group, snapshot);
            }
        })));

        // One final generation for every group, set after all the racing updates.
        var finalSnapshot = Generation(null, 100_000);
        foreach (var group in new[] { "g0", "g1", "g2" })
        {
            cache.SetSnapshot(group, finalSnapshot);
        }

        final.SetResult(finalSnapshot.GetVersion(TypeUrls.ClusterLoadAssignment));
        var all = Task.WhenAll(clients);
        var finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == all, $"streams still running after 60 s: {clients.Count(c => !c.IsCompleted)} of {streams} (deadlock?)");
        await all;
    }

    [Fact]
    public void A_callback_runs_outside_every_cache_lock()
    {
        using var cache = new SnapshotCache();
        var otherThreadRan = false;
        using var watch = cache.CreateWatch(
            new WatchRequest(Fixtures.Node("n"), ClientState.ForSotw(EnvoyResourceTypes.Listener).ApplySotwRequest([])),
            _ =>
            {
                // Another thread must be able to use the same group while the callback runs; if the cache held
                // the group's lock here, this would time out.
                var other = Task.Run(() =>
                {
                    cache.GetStatus("n");
                    cache.SetSnapshot("n", SnapshotTests.HelloChain(9));
                });
                otherThreadRan = other.Wait(TimeSpan.FromSeconds(10));
            });

        cache.SetSnapshot("n", SnapshotTests.HelloChain());

        Assert.True(otherThreadRan, "another thread was blocked while a watch callback ran");
    }
}

public class InterleavedUpdateTests
{
    [Fact]
    public void A_watch_is_answered_when_a_newer_update_that_left_its_type_alone_lands_mid_evaluation()
    {
        // Found by the benchmark work: S2 changes clusters and endpoints; S3 (set while S2 is still answering
        // watches) changes only clusters. S3 skips the endpoint watches (their set is S2's), so S2's evaluation
        // must not abandon them.
        using var cache = new SnapshotCache();
        var s1 = Snapshot.CreateBuilder().Add(Fixtures.Cluster("c")).Add(Fixtures.Endpoints("c", 1)).Build();
        cache.SetSnapshot("n", s1);
        ClientState Current(ClientState s) => s.ApplyResponse(Probe.Now(cache, "n", s)!);
        var cds = Current(ClientState.ForSotw(EnvoyResourceTypes.Cluster).ApplySotwRequest([]));
        var eds = Current(ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(["c"]));

        var s2 = s1.ToBuilder().Set(Fixtures.Cluster("c", serviceName: "c")).Set(Fixtures.Endpoints("c", 2)).Build();
        var s3 = s2.ToBuilder().Set(Fixtures.Cluster("c")).Build();
        Assert.Same(s2.GetResources(TypeUrls.ClusterLoadAssignment), s3.GetResources(TypeUrls.ClusterLoadAssignment));

        // Clusters are answered first; that callback lands S3, deterministically mid-evaluation of S2.
        using var clusters = cache.CreateWatch(new WatchRequest(Fixtures.Node("n"), cds), _ => cache.SetSnapshot("n", s3));
        using var endpoints = Probe.Open(cache, "n", eds);
        cache.SetSnapshot("n", s2);

        Assert.NotNull(endpoints.Response);
        Assert.Equal(["c"], Names.Of(endpoints.Response!));
        Assert.Equal(s3.GetVersion(TypeUrls.ClusterLoadAssignment), endpoints.Response!.Version);
    }
}
