using Envoy.Service.Status.V3;
using Grpc.Net.Client;
using GenericXdsConfig = Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig;

namespace XdsServer.Tests;

/// <summary>
/// CSDS's type-level entries (empty name, no config, one per type a stream has): the state of the type's last
/// response, which the per-resource entries cannot tell when that response held no resource — an empty state of the
/// world, a removal-only delta.
/// </summary>
public sealed class ClientStatusTypeEntryTests
{
    [Fact]
    public async Task A_type_sent_empty_and_acked_is_synced()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Include(TypeUrls.Cluster).Build());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        var cds = await client.NextAsync("the (empty) clusters: a wildcard is told there are none");
        Assert.Empty(cds.Resources);
        var type = await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Stale, "sent, not ACKed yet");
        Assert.Equal(Envoy.Admin.V3.ClientResourceStatus.Requested, type.ClientStatus);

        await client.AckAsync(cds);
        type = await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Synced, "ACKed");
        Assert.Equal((cds.VersionInfo, Envoy.Admin.V3.ClientResourceStatus.Acked), (type.VersionInfo, type.ClientStatus));
        Assert.NotNull(type.LastUpdated);
        Assert.Null(type.XdsConfig);
        Assert.Equal([(TypeUrls.Cluster, "")], Entries(await FetchAsync(server)).Select(e => (e.TypeUrl, e.Name))); // no resource entry
    }

    [Fact]
    public async Task An_emptied_state_of_the_world_is_stale_until_acked_and_an_error_when_nacked()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("a"), Fixtures.Endpoints("a", 8080)).Build());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("cluster a"));
        await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Synced, "cluster a ACKed");

        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Include(TypeUrls.Cluster).Build());
        var emptied = await client.NextAsync("no cluster any more: the state of the world without cluster a");
        Assert.Empty(emptied.Resources);
        var type = await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.VersionInfo == emptied.VersionInfo, "the emptied response recorded");
        Assert.Equal(ConfigStatus.Stale, type.ConfigStatus);

        await client.SendAsync(TypeUrls.Cluster, version: "", nonce: emptied.Nonce, error: "refusing to lose every cluster", withNode: false);
        type = await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Error, "the NACK");
        Assert.Equal(Envoy.Admin.V3.ClientResourceStatus.Nacked, type.ClientStatus);
        Assert.Equal(("refusing to lose every cluster", emptied.VersionInfo), (type.ErrorState.Details, type.ErrorState.VersionInfo));
        Assert.Null(type.ErrorState.FailedConfiguration);
    }

    [Fact]
    public async Task A_removal_only_delta_response_is_stale_until_acked()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("a"), Fixtures.Endpoints("a", 8080)).Build());
        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.Cluster, subscribe: ["*"]);
        await client.AckDeltaAsync(await client.NextDeltaAsync("cluster a"));
        await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Synced, "cluster a ACKed");

        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Include(TypeUrls.Cluster).Build());
        var removal = await client.NextDeltaAsync("a's removal");
        Assert.Empty(removal.Resources);
        Assert.Equal(["a"], removal.RemovedResources);
        await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Stale, "the removal sent, not ACKed yet");

        await client.AckDeltaAsync(removal);
        await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Synced, "the removal ACKed");
    }

    [Fact]
    public async Task A_type_asked_for_and_not_sent_is_not_sent_and_a_nodes_streams_are_listed_oldest_first()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("a"), Fixtures.Endpoints("a", 8080)).Build());
        await using var first = XdsProtocolClient.Sotw(server.Address, "n1");
        await first.SendAsync(TypeUrls.Cluster);
        await first.AckAsync(await first.NextAsync("cluster a"));
        await TypeEntryWhenAsync(server, TypeUrls.Cluster, e => e.ConfigStatus == ConfigStatus.Synced, "cluster a ACKed");

        // A second stream of the same node asks for routes that do not exist: nothing is sent.
        await using var second = XdsProtocolClient.Sotw(server.Address, "n1");
        await second.SendAsync(TypeUrls.RouteConfiguration, ["nowhere"]);
        ClientStatusResponse answer = null!;
        // Wait for the subscription itself: the type's slot (and its type-level entry) exists a moment before the
        // request's names are applied to it.
        await Eventually.TrueAsync(async () => Entries(answer = await FetchAsync(server))
                .Any(e => e.TypeUrl == TypeUrls.RouteConfiguration && e.Name == "nowhere"),
            "the second stream's route subscription in CSDS");
        Assert.Equal(2, answer.Config.Count);
        Assert.Equal([(TypeUrls.Cluster, "", ConfigStatus.Synced), (TypeUrls.Cluster, "a", ConfigStatus.Synced)],
            answer.Config[0].GenericXdsConfigs.Select(e => (e.TypeUrl, e.Name, e.ConfigStatus)));
        Assert.Equal([(TypeUrls.RouteConfiguration, "", ConfigStatus.NotSent), (TypeUrls.RouteConfiguration, "nowhere", ConfigStatus.NotSent)],
            answer.Config[1].GenericXdsConfigs.Select(e => (e.TypeUrl, e.Name, e.ConfigStatus)));
        var routes = answer.Config[1].GenericXdsConfigs[0];
        Assert.Equal((string.Empty, null), (routes.VersionInfo, routes.LastUpdated));
    }

    private static async Task<ClientStatusResponse> FetchAsync(LoopbackXdsServer server)
    {
        using var channel = GrpcChannel.ForAddress(server.Address);
        return await new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel).FetchClientStatusAsync(new ClientStatusRequest());
    }

    private static IEnumerable<GenericXdsConfig> Entries(ClientStatusResponse answer) => answer.Config.SelectMany(c => c.GenericXdsConfigs);

    /// <summary>The single stream's type-level entry of <paramref name="typeUrl"/> once it satisfies <paramref name="until"/>.</summary>
    private static async Task<GenericXdsConfig> TypeEntryWhenAsync(LoopbackXdsServer server, string typeUrl, Func<GenericXdsConfig, bool> until, string what)
    {
        GenericXdsConfig? entry = null;
        await Eventually.TrueAsync(async () =>
        {
            entry = Entries(await FetchAsync(server)).SingleOrDefault(e => e.TypeUrl == typeUrl && e.Name.Length == 0);
            return entry is not null && until(entry);
        }, $"CSDS's type-level {typeUrl} entry: {what}", lastSeen: () => entry?.ToString() ?? "no type-level entry");
        return entry!;
    }
}
