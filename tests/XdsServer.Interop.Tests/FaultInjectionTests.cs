using Grpc.Core;

namespace XdsServer.Interop.Tests;

/// <summary>Scenario 6: the fault filter (before the router) aborting 100% of calls makes every call fail with
/// the configured gRPC status, and none reaches the backend.</summary>
public class FaultInjectionTests
{
    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Fault_abort_at_100_percent_returns_the_configured_status(string client)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        await using var backend = await EchoBackend.StartAsync("unreached");
        var nodeId = client + "-fault";
        server.Snapshots.SetSnapshot(nodeId, RealClients.Hello(
                [InteropResources.FaultAbort(StatusCode.PermissionDenied), InteropResources.Router()],
                InteropResources.ToCluster("echo"))
            .AddCluster("echo", backend).Build());

        var outcomes = await XdsClientRunner.Get(client).RunAsync(new XdsClientRun
        {
            Bootstrap = XdsBootstrap.For(server, nodeId),
            Calls = 3,
        });

        Assert.All(outcomes, o => Assert.Equal(StatusCode.PermissionDenied, o.Code));
        Assert.Equal(0, backend.Calls);
    }
}
