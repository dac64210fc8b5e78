using System.Diagnostics;

namespace XdsServer.Interop.Tests;

/// <summary>Scenario 4: an EDS update that removes a backend moves a calling client's traffic off it within 5 s.</summary>
public class EdsUpdateTests
{
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(5);

    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Eds_update_removing_a_backend_moves_all_traffic_off_it_within_5_s(string client)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        var backends = await EchoBackend.StartAsync("kept", "removed");
        await using var kept = backends[0];
        await using var removed = backends[1];
        var nodeId = client + "-eds";
        var before = RealClients.Hello(InteropResources.ToCluster("echo")).AddCluster("echo", kept, removed).Build();
        server.Snapshots.SetSnapshot(nodeId, before);
        await using var session = XdsClientRunner.Get(client).Start(new XdsClientRun
        {
            Bootstrap = XdsBootstrap.For(server, nodeId),
            Calls = 0,
            Interval = TimeSpan.FromMilliseconds(20),
            Deadline = TimeSpan.FromSeconds(2),
        });

        // Both endpoints take calls (round robin) before the update.
        var seen = new HashSet<string>();
        bool BothSeen(CallOutcome o)
        {
            if (o.Backend is { } backend)
            {
                seen.Add(backend);
            }

            return seen.Count == 2;
        }

        await session.WaitForAsync(BothSeen, consecutive: 1, TimeSpan.FromSeconds(30), "calls reaching both backends");

        server.Snapshots.SetSnapshot(nodeId, before.ToBuilder().SetEndpoints("echo", kept).Build());
        var watch = Stopwatch.StartNew();
        var lastElsewhere = TimeSpan.Zero;
        var inARow = 0;
        while (inARow < 25)
        {
            var outcome = await session.NextAsync(DrainBound + TimeSpan.FromSeconds(5) - watch.Elapsed, "calls after the EDS update");
            if (outcome.Backend == "kept")
            {
                inARow++;
            }
            else
            {
                inARow = 0;
                lastElsewhere = watch.Elapsed;
                Assert.True(lastElsewhere <= DrainBound,
                    session.Describe($"still called {outcome} {lastElsewhere.TotalSeconds:0.00} s after the EDS update removed that backend"));
            }
        }

        var removedCalls = removed.Calls;
        var outcomes = await session.StopAsync();
        Assert.Equal(removedCalls, removed.Calls);
        Assert.True(outcomes.Count > 25, session.Describe("made too few calls"));
    }
}
