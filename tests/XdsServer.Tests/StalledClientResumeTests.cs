using Microsoft.Extensions.DependencyInjection;

namespace XdsServer.Tests;

/// <summary>docs/architecture.md, invariants 2 and 3, seen by a client that stalls and then resumes: while the
/// loop is blocked writing one type, the updates that land mark the other type dirty, and it goes right after with
/// the newest version only (never a superseded one first); the blocked type gets the newest once its client ACKs.</summary>
[Collection(nameof(MemorySensitive))]
public class StalledClientResumeTests
{
    private static readonly string[] Names = [.. Enumerable.Range(0, 100).Select(i => $"c{i}")];

    private static XdsTypeStatus TypeOf(LoopbackXdsServer server, string typeUrl) =>
        server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == typeUrl);

    [Fact]
    public async Task Updates_that_land_while_another_type_is_being_written_send_only_the_newest_version_right_after_the_write()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddCallbacks<RecordingCallbacks>());
        var recorder = (RecordingCallbacks)server.Services.GetServices<IXdsCallbacks>().Single();
        var snapshots = Enumerable.Range(0, 4).Select(StalledClientTests.BigClusters).ToArray();
        string Version(int generation, string typeUrl) => snapshots[generation].GetVersion(typeUrl);
        server.Snapshots.SetSnapshot("n1", snapshots[0]);
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1", read: false);

        // Endpoints (a few KB) are read and ACKed: the type may send again.
        await client.SendAsync(TypeUrls.ClusterLoadAssignment, Names);
        client.Allow(1);
        var eds0 = await client.NextAsync("endpoints of generation 0");
        Assert.Equal(Version(0, TypeUrls.ClusterLoadAssignment), eds0.VersionInfo);
        await client.AckAsync(eds0, Names);

        // Clusters (~400 KB, far beyond the flow-control window of a client that reads nothing) block the loop.
        await client.SendAsync(TypeUrls.Cluster, withNode: false);
        // (The callback runs as the response goes to the writer: from then on the loop is in the write.)
        await Eventually.TrueAsync(() => recorder.Events.Contains($"response {TypeUrls.Cluster}"),
            "the clusters response to go to the writer");
        Assert.Equal(0, TypeOf(server, TypeUrls.Cluster).ResponsesSent);

        // Three updates land while the loop is still writing clusters: each marks endpoints dirty, nothing is computed.
        server.Snapshots.SetSnapshot("n1", snapshots[1]);
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.ClusterLoadAssignment).PendingResponses == 1,
            "the endpoint type to be marked as due");
        server.Snapshots.SetSnapshot("n1", snapshots[2]);
        server.Snapshots.SetSnapshot("n1", snapshots[3]);
        Assert.Equal(0, TypeOf(server, TypeUrls.Cluster).ResponsesSent);

        // The client resumes: the blocked clusters, then the endpoints at generation 3, computed only now (with the
        // old one-shot watches, generation 1 answered the open watch and went first, superseded as it was).
        client.Allow();
        var cds0 = await client.NextAsync("the clusters write that was blocked");
        Assert.Equal((TypeUrls.Cluster, Version(0, TypeUrls.Cluster)), (cds0.TypeUrl, cds0.VersionInfo));
        var eds = await client.NextAsync("the endpoints, after the clusters write");
        Assert.Equal((TypeUrls.ClusterLoadAssignment, Version(3, TypeUrls.ClusterLoadAssignment)), (eds.TypeUrl, eds.VersionInfo));

        // Clusters wait for the client's ACK of the clusters it has, then go at generation 3, never 1 or 2.
        await client.AckAsync(eds, Names);
        await client.AckAsync(cds0);
        var cds = await client.NextAsync("the newest clusters");
        Assert.Equal((TypeUrls.Cluster, Version(3, TypeUrls.Cluster)), (cds.TypeUrl, cds.VersionInfo));
        await client.AckAsync(cds);
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.ClusterLoadAssignment).Acks == 2 && TypeOf(server, TypeUrls.Cluster).Acks == 2,
            "every response to be ACKed");
        Assert.Equal(2, TypeOf(server, TypeUrls.Cluster).ResponsesSent);
        Assert.Equal(2, TypeOf(server, TypeUrls.ClusterLoadAssignment).ResponsesSent);
    }
}
