using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;

namespace XdsServer.Tests;

[CollectionDefinition(nameof(MemorySensitive), DisableParallelization = true)]
public sealed class MemorySensitive;

/// <summary>docs/architecture.md, invariant 3: a client that stops reading holds at most one pending response per type;
/// versions it misses are skipped, never queued, while other clients keep converging.</summary>
[Collection(nameof(MemorySensitive))]
public class StalledClientTests
{
    /// <summary>100 clusters of ~4 KB each: a CDS response (~400 KB) is far beyond HTTP/2 flow-control
    /// windows, so a client that does not read blocks the server's write.</summary>
    internal static Snapshot BigClusters(int generation)
    {
        var builder = Snapshot.CreateBuilder();
        for (var i = 0; i < 100; i++)
        {
            var cluster = Fixtures.Cluster($"c{i}");
            var fields = new Struct();
            fields.Fields["blob"] = Value.ForString(new string((char)('a' + (generation % 26)), 4096) + generation);
            cluster.Metadata = new Metadata();
            cluster.Metadata.FilterMetadata["test"] = fields;
            builder.Add(cluster).Add(Fixtures.Endpoints($"c{i}", 1000 + generation));
        }

        return builder.Build();
    }

    [Fact]
    public async Task A_stalled_client_holds_at_most_one_pending_response_per_type_and_others_keep_up()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", BigClusters(0));
        var names = Enumerable.Range(0, 100).Select(i => $"c{i}").ToArray();

        await using var stalled = XdsProtocolClient.Sotw(server.Address, "n1", read: false);
        await stalled.SendAsync(TypeUrls.Cluster);
        await stalled.SendAsync(TypeUrls.ClusterLoadAssignment, names, withNode: false);
        await using var healthy = XdsProtocolClient.Sotw(server.Address, "n1");
        await healthy.SendAsync(TypeUrls.Cluster);
        await healthy.AckAsync(await healthy.NextAsync("clusters"));
        await healthy.SendAsync(TypeUrls.ClusterLoadAssignment, names, withNode: false);
        await healthy.AckAsync(await healthy.NextAsync("endpoints"), names);

        async Task<Envoy.Service.Discovery.V3.DiscoveryResponse> NextAsync(string what)
        {
            try
            {
                return await healthy.NextAsync(what);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; server state:\n{server.Describe()}", e);
            }
        }

        long MemoryNow()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return GC.GetTotalMemory(forceFullCollection: true);
        }

        long baseline = 0;
        for (var generation = 1; generation <= 30; generation++)
        {
            server.Snapshots.SetSnapshot("n1", BigClusters(generation));
            // Clusters and endpoints of this generation, each ACKed as it comes, as a proxy would. (Their
            // order is not this test's business: a watch re-armed by an ACK during the update may answer
            // before one the update itself reaches.)
            for (var i = 0; i < 2; i++)
            {
                var response = await NextAsync($"clusters and endpoints of generation {generation}");
                await healthy.AckAsync(response, response.TypeUrl == TypeUrls.Cluster ? null : names);
            }

            var stalledStream = server.Status.GetStreams().Single(s => s.Types.All(t => t.Acks == 0));
            Assert.All(stalledStream.Types, t => Assert.True(t.PendingResponses <= 1, $"{t.TypeUrl}: {t.PendingResponses} pending"));
            Assert.All(stalledStream.Types, t => Assert.True(t.ResponsesSent <= 1, $"{t.TypeUrl}: {t.ResponsesSent} sent to a client that reads nothing"));
            if (generation == 5)
            {
                baseline = MemoryNow();
            }
        }

        // 25 more generations of ~800 KB each went by; queued versions would have kept ~20 MB alive.
        var growth = MemoryNow() - baseline;
        Assert.True(growth < 4 * 1024 * 1024, $"managed memory grew by {growth / 1024} KB over 25 updates with a stalled client");
    }
}
