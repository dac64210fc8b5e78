namespace XdsServer.Interop.Tests;

/// <summary>Scenario 1: a real client resolves xds:///hello (LDS → RDS → CDS → EDS) and its call reaches the backend.</summary>
public class UnaryCallTests
{
    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Unary_call_through_xds_hello_reaches_the_backend(string client)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        await using var backend = await EchoBackend.StartAsync("only");
        var nodeId = client + "-unary";
        server.Snapshots.SetSnapshot(nodeId, RealClients.Hello(InteropResources.ToCluster("echo"))
            .AddCluster("echo", backend).Build());

        var outcomes = await XdsClientRunner.Get(client).RunAsync(new XdsClientRun
        {
            Bootstrap = XdsBootstrap.For(server, nodeId),
            Calls = 3,
        });

        Assert.All(outcomes, o => Assert.Equal("only", o.Backend));
        Assert.Equal(3, backend.Calls);
    }
}
