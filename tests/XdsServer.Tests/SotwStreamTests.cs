using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsServer.Tests;

/// <summary>State-of-the-world ADS over a real loopback gRPC stream, driven by the protocol-level client.</summary>
public class SotwStreamTests
{
    internal static Snapshot Hello(int port = 50051, string route = "hello-route") => Snapshot.CreateBuilder()
        .Add(Fixtures.Listener("hello", route))
        .Add(Fixtures.Route(route, "hello-cluster"))
        .Add(Fixtures.Cluster("hello-cluster"))
        .Add(Fixtures.Endpoints("hello-cluster", port))
        .Build();

    private static string[] Names(DiscoveryResponse response) =>
        [.. response.Resources.Select(r => XdsResource.Create(r.Unpack<Envoy.Config.Listener.V3.Listener>()).Name)];

    [Fact]
    public async Task Chain_is_served_and_acked_and_nothing_is_resent_for_an_unchanged_version()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Hello());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");

        await client.SendAsync(TypeUrls.Listener, ["hello"]);
        var lds = await client.NextAsync("the hello listener");
        Assert.Equal(TypeUrls.Listener, lds.TypeUrl);
        Assert.Equal(["hello"], Names(lds));
        Assert.NotEmpty(lds.Nonce);
        await client.AckAsync(lds, ["hello"]);

        await client.SendAsync(TypeUrls.RouteConfiguration, ["hello-route"], withNode: false);
        var rds = await client.NextAsync("the route configuration");
        Assert.Single(rds.Resources);
        Assert.NotEqual(lds.Nonce, rds.Nonce);
        await client.AckAsync(rds, ["hello-route"]);

        Assert.True(await client.NothingWithinAsync(TimeSpan.FromMilliseconds(300)), "an ACK must not cause a resend");
        var status = Assert.Single(server.Status.GetStreams());
        var ldsStatus = status.Types.Single(t => t.TypeUrl == TypeUrls.Listener);
        Assert.Equal(lds.VersionInfo, ldsStatus.AckedVersion);
        Assert.Equal(1, ldsStatus.Acks);
    }
}
