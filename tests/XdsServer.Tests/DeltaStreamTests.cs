using Envoy.Service.Discovery.V3;

namespace XdsServer.Tests;

/// <summary>Delta ADS over a real loopback stream: the protocol-level client stands in for a delta-capable
/// proxy (none of the real clients here speaks delta).</summary>
public class DeltaStreamTests
{
    private static Snapshot Endpoints(params (string Name, int Port)[] clusters)
    {
        var builder = Snapshot.CreateBuilder();
        foreach (var (name, port) in clusters)
        {
            builder.Add(Fixtures.Cluster(name)).Add(Fixtures.Endpoints(name, port));
        }

        return builder.Build();
    }

    private static void Update(LoopbackXdsServer server, Action<SnapshotBuilder> change)
    {
        server.Snapshots.TryGetSnapshot("n1", out var current);
        var builder = current!.ToBuilder();
        change(builder);
        server.Snapshots.SetSnapshot("n1", builder.Build());
    }

    private static string[] Names(DeltaDiscoveryResponse response) => [.. response.Resources.Select(r => r.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Wildcard_then_updates_carry_only_changes_and_removals()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(("a", 1), ("b", 2), ("c", 3)));
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");

        await client.SendDeltaAsync(TypeUrls.Cluster); // legacy wildcard: empty first request
        var first = await client.NextDeltaAsync("every cluster");
        Assert.Equal(["a", "b", "c"], Names(first));
        Assert.All(first.Resources, r => Assert.Matches("^[0-9a-f]{16}$", r.Version));
        Assert.NotEmpty(first.SystemVersionInfo);
        await client.AckDeltaAsync(first);

        Update(server, b =>
        {
            b.Set(Fixtures.Cluster("b", serviceName: "b"));
            b.Remove(TypeUrls.Cluster, "c");
            b.Remove(TypeUrls.ClusterLoadAssignment, "c");
        });
        var second = await client.NextDeltaAsync("the changed and the removed cluster");
        Assert.Equal(["b"], Names(second));
        Assert.Equal(["c"], second.RemovedResources);
    }

    [Fact]
    public async Task Subscribe_unsubscribe_and_resubscribe_by_name()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(("a", 1), ("b", 2)));
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");

        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["a", "ghost"]);
        var first = await client.NextDeltaAsync("a, and ghost reported as not existing");
        Assert.Equal(["a"], Names(first));
        Assert.Equal(["ghost"], first.RemovedResources);
        await client.AckDeltaAsync(first);

        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, unsubscribe: ["a"], withNode: false);
        await Eventually.TrueAsync(() => server.Status.GetStreams().Single().Types.Single().Subscription == "ghost",
            "the server to apply the unsubscription");
        Update(server, b => b.Set(Fixtures.Endpoints("a", 11)));
        // An unsubscribed resource is not sent: the update left the watch open (unanswered), one response so far.
        await Settled.WatchingAsync(server, "n1", 1, types => types.Single().Acks == 1, "the update to leave the watch waiting");
        Assert.Equal(1, server.Status.GetStreams().Single().Types.Single().ResponsesSent);

        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["a", "b"], withNode: false);
        var again = await client.NextDeltaAsync("a and b after subscribing");
        Assert.Equal(["a", "b"], Names(again));
    }

    [Fact]
    public async Task Reconnect_with_initial_versions_resends_nothing_unchanged()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(("a", 1), ("b", 2), ("c", 3)));
        Dictionary<string, string> held;
        await using (var first = XdsProtocolClient.Delta(server.Address, "n1"))
        {
            await first.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["*"]);
            var response = await first.NextDeltaAsync("every endpoint");
            held = response.Resources.ToDictionary(r => r.Name, r => r.Version);
        }

        Update(server, b =>
        {
            b.Set(Fixtures.Endpoints("b", 22));
            b.Remove(TypeUrls.Cluster, "c");
            b.Remove(TypeUrls.ClusterLoadAssignment, "c");
        });

        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["*"], initialVersions: held);
        var resumed = await client.NextDeltaAsync("only what changed while away");
        Assert.Equal(["b"], Names(resumed));
        Assert.Equal(["c"], resumed.RemovedResources);

        await using var current = XdsProtocolClient.Delta(server.Address, "n1");
        server.Snapshots.TryGetSnapshot("n1", out var snapshot);
        var all = snapshot!.GetResources(TypeUrls.ClusterLoadAssignment)!.ToDictionary(r => r.Name, r => r.Version);
        await current.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["*"], initialVersions: all);
        await Eventually.TrueAsync(() => server.Status.GetStreams().Count == 2
            && server.Status.GetStreams().Max(s => s.StreamId) is var id && server.Status.GetStreams().Single(s => s.StreamId == id).Types is [{ PendingResponses: 0 }],
            "the resumed stream's request to be applied");

        // A client with every current version gets nothing: its stream recorded the set it holds and watches on, so
        // the next change brings just that (a resend of everything would arrive first, and carry b).
        Update(server, b => b.Set(Fixtures.Endpoints("a", 11)));
        var next = await current.NextDeltaAsync("the one endpoint changed after the silent resume");
        Assert.Equal(["a"], Names(next));
        Assert.Empty(next.RemovedResources);
        Assert.Equal(1, server.Status.GetStreams().Single(s => s.StreamId == server.Status.GetStreams().Max(x => x.StreamId)).Types.Single().ResponsesSent);
    }

    [Fact]
    public async Task A_nack_is_recorded_and_not_answered_with_a_resend()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(("a", 1)));
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["a"]);
        var response = await client.NextDeltaAsync("a");

        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, nonce: response.Nonce, error: "bad endpoint", withNode: false);

        await Settled.WatchingAsync(server, "n1", 1, types => types.Single().Nacks == 1, "the NACK to be applied and the watch to wait");
        var type = server.Status.GetStreams().Single().Types.Single();
        Assert.Equal(1, type.ResponsesSent);
        Assert.Equal(("bad endpoint", response.Nonce), (type.LastNack!.Message, type.LastNack.Nonce));

        Update(server, b => b.Set(Fixtures.Endpoints("a", 2)));
        Assert.Equal(["a"], Names(await client.NextDeltaAsync("the next change after the NACK")));
    }

    [Fact]
    public async Task A_subscription_change_with_a_stale_nonce_is_honoured_once_the_response_in_flight_is_answered()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Endpoints(("a", 1), ("b", 2)));
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["a"]);
        var first = await client.NextDeltaAsync("a");
        await client.AckDeltaAsync(first);
        Update(server, b => b.Set(Fixtures.Endpoints("a", 9)));
        var second = await client.NextDeltaAsync("a changed");

        await client.SendDeltaAsync(TypeUrls.ClusterLoadAssignment, subscribe: ["b"], nonce: first.Nonce, withNode: false);

        // The change applies at once, but the type still waits for the answer to the response in flight: one
        // response per type is unanswered at a time, whatever the nonce of a request in between.
        await Eventually.TrueAsync(() => server.Status.GetStreams().Single().Types.Single() is { AwaitingAck: true } type
            && type.Subscription.Contains('b', StringComparison.Ordinal), "the stale request's subscription to be applied");
        Assert.Equal(2, server.Status.GetStreams().Single().Types.Single().ResponsesSent);

        await client.AckDeltaAsync(second);
        Assert.Equal(["b"], Names(await client.NextDeltaAsync("b, once the response in flight is answered")));
    }
}
