using Envoy.Service.Discovery.V3;
using Microsoft.Extensions.DependencyInjection;

namespace XdsServer.Tests;

/// <summary>docs/architecture.md, invariants 2 and 3, seen by a client that stalls and then resumes: while the
/// loop is blocked writing one type, another type's answer waits in its slot and goes right after; versions
/// the client missed are skipped; once it ACKs, it gets the newest.</summary>
[Collection(nameof(MemorySensitive))]
public class StalledClientResumeTests
{
    private static readonly string[] Names = [.. Enumerable.Range(0, 100).Select(i => $"c{i}")];

    private static XdsTypeStatus TypeOf(LoopbackXdsServer server, string typeUrl) =>
        server.Status.GetStreams().Single().Types.Single(t => t.TypeUrl == typeUrl);

    [Fact]
    public async Task An_answer_that_arrives_while_another_type_is_being_written_goes_next_and_missed_versions_are_skipped()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddCallbacks<RecordingCallbacks>());
        var recorder = (RecordingCallbacks)server.Services.GetServices<IXdsCallbacks>().Single();
        var snapshots = Enumerable.Range(0, 4).Select(StalledClientTests.BigClusters).ToArray();
        string Version(int generation, string typeUrl) => snapshots[generation].GetVersion(typeUrl);
        server.Snapshots.SetSnapshot("n1", snapshots[0]);
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1", read: false);

        // Endpoints (a few KB) are read and ACKed: their watch is open.
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

        // Generation 1 answers the endpoint watch while the loop is still writing clusters; 2 and 3 find no
        // open watch (the client has not ACKed anything since) and are skipped.
        server.Snapshots.SetSnapshot("n1", snapshots[1]);
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.ClusterLoadAssignment).PendingResponses == 1,
            "the endpoint answer to wait in its slot");
        server.Snapshots.SetSnapshot("n1", snapshots[2]);
        server.Snapshots.SetSnapshot("n1", snapshots[3]);
        Assert.Equal(0, TypeOf(server, TypeUrls.Cluster).ResponsesSent);

        // The client resumes: the blocked clusters, then the endpoints that waited, with no request between.
        client.Allow();
        var cds0 = await client.NextAsync("the clusters write that was blocked");
        Assert.Equal((TypeUrls.Cluster, Version(0, TypeUrls.Cluster)), (cds0.TypeUrl, cds0.VersionInfo));
        var eds1 = await client.NextAsync("the endpoint answer that arrived while clusters were being written");
        Assert.Equal((TypeUrls.ClusterLoadAssignment, Version(1, TypeUrls.ClusterLoadAssignment)), (eds1.TypeUrl, eds1.VersionInfo));

        // ACKs re-arm both watches: each type gets generation 3, never 2.
        await client.AckAsync(cds0);
        await client.AckAsync(eds1, Names);
        var latest = new Dictionary<string, DiscoveryResponse>();
        for (var i = 0; i < 2; i++)
        {
            var response = await client.NextAsync("the newest clusters and endpoints");
            latest.Add(response.TypeUrl, response);
        }

        Assert.Equal(Version(3, TypeUrls.Cluster), latest[TypeUrls.Cluster].VersionInfo);
        Assert.Equal(Version(3, TypeUrls.ClusterLoadAssignment), latest[TypeUrls.ClusterLoadAssignment].VersionInfo);
        await client.AckAsync(latest[TypeUrls.Cluster]);
        await client.AckAsync(latest[TypeUrls.ClusterLoadAssignment], Names);
        await Eventually.TrueAsync(() => TypeOf(server, TypeUrls.ClusterLoadAssignment).Acks == 3 && TypeOf(server, TypeUrls.Cluster).Acks == 2,
            "every response to be ACKed");
        Assert.Equal(2, TypeOf(server, TypeUrls.Cluster).ResponsesSent);
        Assert.Equal(3, TypeOf(server, TypeUrls.ClusterLoadAssignment).ResponsesSent);
    }
}
