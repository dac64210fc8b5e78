namespace XdsServer.Interop.Tests;

/// <summary>Scenario 2: a route with weighted clusters 80/20 splits a real client's calls accordingly.</summary>
public class WeightedClusterTests
{
    private const int Calls = 200;

    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Weighted_clusters_80_20_split_200_calls_within_10_percent(string client)
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
        });

        Assert.All(outcomes, o => Assert.True(o.Ok, o.ToString()));
        var toHeavy = outcomes.Count(o => o.Backend == "heavy");
        var toLight = outcomes.Count(o => o.Backend == "light");
        Assert.Equal(Calls, toHeavy + toLight);
        var share = (double)toHeavy / Calls;
        Assert.True(share is >= 0.70 and <= 0.90, $"heavy got {toHeavy} of {Calls} calls ({share:P0}), light {toLight}: want 80% ± 10%");
    }
}
