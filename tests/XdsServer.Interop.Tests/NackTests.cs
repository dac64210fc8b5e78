using Grpc.Core;
using Xunit.Abstractions;

namespace XdsServer.Interop.Tests;

/// <summary>Scenario 5: a Listener the real client rejects shows as NACKed in the server's stream status and is
/// not re-sent while nothing changes; the fixed Listener is then ACKed and calls go through.</summary>
public class NackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(1.5);

    /// <summary>An HCM whose router filter is not last (a fault filter follows it). gRPC clients require the
    /// router, and only the router, last in the chain.</summary>
    private static SnapshotBuilder RouterNotLast() => RealClients.Hello(
        [InteropResources.Router(), InteropResources.FaultAbort(StatusCode.Unavailable, percent: 0)],
        InteropResources.ToCluster("echo"));

    [Theory]
    [MemberData(nameof(RealClients.Names), MemberType = typeof(RealClients))]
    public async Task Rejected_listener_is_nacked_and_not_resent_then_the_fixed_one_is_acked(string client)
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        await using var backend = await EchoBackend.StartAsync("echo");
        var nodeId = client + "-nack";
        var invalid = RouterNotLast().AddCluster("echo", backend).Build();
        server.Snapshots.SetSnapshot(nodeId, invalid);
        await using var session = XdsClientRunner.Get(client).Start(new XdsClientRun
        {
            Bootstrap = XdsBootstrap.For(server, nodeId),
            Calls = 0,
            Interval = TimeSpan.FromMilliseconds(50),
            Deadline = TimeSpan.FromSeconds(1),
        });
        XdsTypeStatus? Listeners() => server.Status.GetStreams().Where(s => s.Node.Id == nodeId)
            .SelectMany(s => s.Types).FirstOrDefault(t => t.TypeUrl == TypeUrls.Listener);
        string Show() => $"listener status: {Listeners()?.ToString() ?? "(no stream)"}\n{session.Describe("was running")}";

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await RealClients.EventuallyAsync(() => Listeners()?.LastNack is not null, TimeSpan.FromSeconds(20),
            () => "the client did not NACK the listener whose router filter is not last. " + Show());
        var nacked = Listeners()!;
        Assert.Equal(invalid.GetVersion(TypeUrls.Listener), nacked.LastNack!.RejectedVersion);
        Assert.Null(nacked.AckedVersion);
        Assert.Equal(1, nacked.Nacks);
        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: {client} NACKed the listener: {nacked.LastNack.Message}");

        // Nothing changes, so nothing is re-sent (a NACK is not a request for a resend). Proving an absence
        // takes a window of time; the client keeps calling (and failing) meanwhile.
        var sent = nacked.ResponsesSent;
        var callsBefore = session.Outcomes.Count;
        await Task.Delay(QuietWindow);
        await RealClients.EventuallyAsync(() => session.Outcomes.Count > callsBefore, TimeSpan.FromSeconds(10),
            () => "the client made no call while the listener was rejected. " + Show());
        var quiet = Listeners()!;
        Assert.True(quiet.ResponsesSent == sent && quiet.Nacks == 1,
            $"the NACKed listener was re-sent: {sent} responses before, {quiet.ResponsesSent} after; {Show()}");
        Assert.All(session.Outcomes, o => Assert.False(o.Ok, $"a call succeeded with a rejected listener: {o}"));

        var fixedSnapshot = invalid.ToBuilder().Set(InteropResources.Listener("hello", "hello-route")).Build();
        var fixedVersion = fixedSnapshot.GetVersion(TypeUrls.Listener);
        server.Snapshots.SetSnapshot(nodeId, fixedSnapshot);

        await RealClients.EventuallyAsync(() => Listeners() is { AckedVersion: var v, LastNack: null } && v == fixedVersion,
            TimeSpan.FromSeconds(20), () => $"the fixed listener (version {fixedVersion}) was not ACKed. " + Show());
        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: the fixed listener is ACKed");
        await session.WaitForAsync(o => o.Backend == "echo", consecutive: 3, TimeSpan.FromSeconds(20),
            "calls reaching the backend after the fix");
        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: calls reach the backend");
        await session.StopAsync();
        output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: the client stopped");
    }
}
