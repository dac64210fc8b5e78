namespace XdsServer.Interop.Tests;

/// <summary>Scenario 2: a route with weighted clusters 80/20 splits a real client's calls accordingly.</summary>
public class WeightedClusterTests
{
    // Each call picks a cluster independently, so the heavy count is Binomial(Calls, p). With 4,500 calls and an
    // acceptance band of [3,488, 3,712] heavy calls (77.5 % .. 82.5 %), exact binomial tails give:
    //   correct split p = 0.80: P(outside the band) = 2.8e-5 (a false failure, below 1e-4);
    //   a 75/25 bug, p = 0.75:  P(inside the band)  = 4.5e-5 (the bug passes, below 1e-4);
    //   an 85/15 bug, p = 0.85: P(inside the band)  = 2.1e-6.
    // (200 calls at 70 % .. 90 % let a 75/25 split pass 95 % of the time.)
    private const int Calls = 4500;
    private const int MinHeavy = 3488;
    private const int MaxHeavy = 3712;

    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Weighted_clusters_80_20_split_calls_within_2_5_points(string client)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        var backends = await EchoBackend.StartAsync("heavy", "light");
        await using var heavy = backends[0];
        await using var light = backends[1];
        var nodeId = client + "-weighted";
        server.Snapshots.SetSnapshot(nodeId, RealClients.Hello(InteropResources.Weighted(("heavy", 80), ("light", 20)))
            .AddCluster("heavy", heavy).AddCluster("light", light).Build());

        var outcomes = await XdsClientRunner.Get(client).RunAsync(new XdsClientRun
        {
            Bootstrap = XdsBootstrap.For(server, nodeId),
            Calls = Calls,
            Timeout = TimeSpan.FromSeconds(180),
        });

        Assert.All(outcomes, o => Assert.True(o.Ok, o.ToString()));
        var toHeavy = outcomes.Count(o => o.Backend == "heavy");
        var toLight = outcomes.Count(o => o.Backend == "light");
        Assert.Equal(Calls, toHeavy + toLight);
        Assert.True(toHeavy is >= MinHeavy and <= MaxHeavy,
            $"heavy got {toHeavy} of {Calls} calls ({(double)toHeavy / Calls:P1}), light {toLight}: want {MinHeavy}..{MaxHeavy} (80 % ± 2.5 points)");
    }
}
