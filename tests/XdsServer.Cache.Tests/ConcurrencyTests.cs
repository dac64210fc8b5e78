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
