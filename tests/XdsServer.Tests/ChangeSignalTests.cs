using XdsServer.Cache.Internal;

namespace XdsServer.Tests;

/// <summary>
/// docs/architecture.md, "The data path": a snapshot update only signals the streams of the types it changed; each
/// stream's loop computes its own response, so the setter's thread pays for no stream's response.
/// </summary>
public class ChangeSignalTests
{
    private static Snapshot Endpoints(int revision) => Snapshot.CreateBuilder()
        .Add(Fixtures.Cluster("c1")).Add(Fixtures.Endpoints("c1", revision)).Build();

    [Fact]
    public async Task Set_snapshot_with_many_streams_computes_no_response_on_the_setters_thread()
    {
        const int Streams = 20;
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(1));
        var clients = new List<XdsProtocolClient>();
        try
        {
            for (var i = 0; i < Streams; i++)
            {
                var client = XdsProtocolClient.Sotw(server.Address, "n1");
                clients.Add(client);
                await client.SendAsync(TypeUrls.ClusterLoadAssignment, ["c1"]);
                await client.AckAsync(await client.NextAsync("the first endpoints"), ["c1"]);
            }

            await Eventually.TrueAsync(() => server.Status.GetStreams() is { Count: Streams } streams
                && streams.All(s => s.Types is [{ Acks: 1, AwaitingAck: false }]), "every stream to have ACKed its endpoints");

            var next = Endpoints(2);
            var computed = ResponseComputer.ComputedOnThisThread;
            server.Snapshots.SetSnapshot("n1", next);
            Assert.Equal(computed, ResponseComputer.ComputedOnThisThread);

            // The loops computed them instead, each the newest version.
            foreach (var client in clients)
            {
                var eds = await client.NextAsync("the endpoints update");
                Assert.Equal(next.GetVersion(TypeUrls.ClusterLoadAssignment), eds.VersionInfo);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
