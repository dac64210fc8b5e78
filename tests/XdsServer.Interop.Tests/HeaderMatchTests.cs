namespace XdsServer.Interop.Tests;

/// <summary>Scenario 3: a route matching header <c>x-variant: canary</c> sends those calls to their own cluster;
/// every other call takes the default route.</summary>
public class HeaderMatchTests
{
    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Header_matched_route_reaches_its_own_backend(string client)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        var backends = await EchoBackend.StartAsync("canary", "stable");
        await using var canary = backends[0];
        await using var stable = backends[1];
        var nodeId = client + "-header";
        server.Snapshots.SetSnapshot(nodeId, RealClients.Hello(
                InteropResources.HeaderToCluster("x-variant", "canary", "canary"),
                InteropResources.ToCluster("stable"))
            .AddCluster("canary", canary).AddCluster("stable", stable).Build());
        var runner = XdsClientRunner.Get(client);
        var run = new XdsClientRun { Bootstrap = XdsBootstrap.For(server, nodeId), Calls = 5 };

        var withHeader = await runner.RunAsync(run with { Headers = new Dictionary<string, string> { ["x-variant"] = "canary" } });
        var otherHeader = await runner.RunAsync(run with { Headers = new Dictionary<string, string> { ["x-variant"] = "beta" } });

        Assert.All(withHeader, o => Assert.Equal("canary", o.Backend));
        Assert.All(otherHeader, o => Assert.Equal("stable", o.Backend));
    }
}
