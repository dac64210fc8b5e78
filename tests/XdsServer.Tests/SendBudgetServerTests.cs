using Microsoft.Extensions.DependencyInjection;

namespace XdsServer.Tests;

/// <summary>The send budget (XdsServerOptions.MaxResponseBytesInFlight) on a real server: a client that stops
/// reading may hold the whole budget only until its write counts as slow; a healthy client keeps converging.</summary>
[Collection(nameof(MemorySensitive))]
public class SendBudgetServerTests
{
    [Fact]
    public async Task A_stalled_client_cannot_keep_the_budget_from_a_healthy_one()
    {
        // 64 KiB in flight, and each clusters response weighs ~400 KB: the stalled client's blocked write takes the
        // whole budget, so the healthy client converges only once that write stops counting.
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddCallbacks<RecordingCallbacks>(),
            o => o.MaxResponseBytesInFlight = 64 * 1024);
        var recorder = (RecordingCallbacks)server.Services.GetServices<IXdsCallbacks>().Single();
        server.Snapshots.SetSnapshot("n1", StalledClientTests.BigClusters(0));

        await using var stalled = XdsProtocolClient.Sotw(server.Address, "n1", read: false);
        await stalled.SendAsync(TypeUrls.Cluster);
        await Eventually.TrueAsync(() => recorder.Events.Contains($"response {TypeUrls.Cluster}"),
            "the stalled client's clusters to go to the writer");

        await using var healthy = XdsProtocolClient.Sotw(server.Address, "n1");
        await healthy.SendAsync(TypeUrls.Cluster);
        for (var generation = 1; generation <= 3; generation++)
        {
            var response = await healthy.NextAsync($"clusters of generation {generation - 1} for the healthy client");
            Assert.Equal(StalledClientTests.BigClusters(generation - 1).GetVersion(TypeUrls.Cluster), response.VersionInfo);
            await healthy.AckAsync(response);
            server.Snapshots.SetSnapshot("n1", StalledClientTests.BigClusters(generation));
        }

        var last = await healthy.NextAsync("clusters of generation 3");
        Assert.Equal(StalledClientTests.BigClusters(3).GetVersion(TypeUrls.Cluster), last.VersionInfo);
        var stalledCds = server.Status.GetStreams().Single(s => s.Types.All(t => t.Acks == 0)).Types.Single();
        Assert.Equal(0, stalledCds.ResponsesSent);
    }
}
