using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace XdsServer.Tests;

/// <summary>The <c>xds</c> health check: Degraded while a proxy rejects its configuration or leaves a response
/// unanswered, Healthy otherwise.</summary>
public sealed class XdsHealthCheckTests
{
    [Fact]
    public async Task A_proxy_that_nacks_degrades_the_check_until_it_acks_a_newer_version()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("a"), Fixtures.Endpoints("a", 8080)).Build());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        var cds = await client.NextAsync("cluster a");

        await client.SendAsync(TypeUrls.Cluster, version: "", nonce: cds.Nonce, error: "cluster a is bad", withNode: false);
        var entry = await CheckWhenAsync(server, HealthStatus.Degraded, "the NACK recorded");
        Assert.Contains($"n1 rejects Cluster version {cds.VersionInfo}: cluster a is bad", entry.Description, StringComparison.Ordinal);
        Assert.StartsWith("1 xDS stream(s) open; 1 proxy type(s) reject", entry.Description, StringComparison.Ordinal);
        Assert.Equal(1, entry.Data["rejecting"]);

        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Cluster("b"), Fixtures.Endpoints("b", 8080)).Build());
        var fixedCds = await client.NextAsync("cluster b, the fix");
        await client.AckAsync(fixedCds);
        entry = await CheckWhenAsync(server, HealthStatus.Healthy, "the newer version ACKed");
        Assert.Equal("1 xDS stream(s) open", entry.Description);
    }

    [Fact]
    public void A_response_unanswered_beyond_the_limit_degrades_the_check_and_a_recent_one_does_not()
    {
        var sentAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        IReadOnlyList<XdsStreamStatus> streams = [Stream("n1", Type(TypeUrls.Listener, sentAt, awaitingAck: true))];

        var recent = XdsHealthCheck.Evaluate(streams, sentAt + XdsHealthCheck.UnansweredLimit);
        Assert.Equal(HealthStatus.Healthy, recent.Status);

        var late = XdsHealthCheck.Evaluate(streams, sentAt + XdsHealthCheck.UnansweredLimit + TimeSpan.FromSeconds(30));
        Assert.Equal(HealthStatus.Degraded, late.Status);
        Assert.Equal("1 xDS stream(s) open; 1 proxy type(s) have not answered a response for over 60s\n"
            + "n1 has not answered Listener version v1 for 90s", late.Description);

        IReadOnlyList<XdsStreamStatus> answered = [Stream("n1", Type(TypeUrls.Listener, sentAt, awaitingAck: false))];
        Assert.Equal(HealthStatus.Healthy, XdsHealthCheck.Evaluate(answered, sentAt + TimeSpan.FromHours(1)).Status);
    }

    [Fact]
    public void The_description_names_a_few_proxies_and_counts_the_rest_with_their_text_made_safe()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var nack = new XdsNack("n", "v1", "bad\nforged: Healthy", at);
        IReadOnlyList<XdsStreamStatus> streams =
            [.. Enumerable.Range(0, 8).Select(i => Stream($"p{i}\nforged", Type(TypeUrls.Cluster, at, awaitingAck: false) with { LastNack = nack }))];

        var result = XdsHealthCheck.Evaluate(streams, at);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        var lines = result.Description!.Split('\n');
        Assert.Equal(1 + XdsHealthCheck.MaxListed + 1, lines.Length);
        Assert.Equal("8 xDS stream(s) open; 8 proxy type(s) reject the configuration they were sent last", lines[0]);
        Assert.Equal(@"p0\u000aforged rejects Cluster version v1: bad\u000aforged: Healthy", lines[1]);
        Assert.Equal("(and 3 more)", lines[^1]);
    }

    private static XdsStreamStatus Stream(string node, XdsTypeStatus type) =>
        new(1, XdsProtocol.StateOfTheWorld, new Envoy.Config.Core.V3.Node { Id = node }, DateTimeOffset.UnixEpoch, [type]);

    private static XdsTypeStatus Type(string typeUrl, DateTimeOffset sentAt, bool awaitingAck) =>
        new(typeUrl, "*", "v1", "1", sentAt, awaitingAck ? null : "v1", null, 0, false, 1, awaitingAck ? 0 : 1, 0,
            new Dictionary<string, string>()) { AwaitingAck = awaitingAck };

    private static async Task<HealthReportEntry> CheckWhenAsync(LoopbackXdsServer server, HealthStatus status, string what)
    {
        var health = server.Services.GetRequiredService<HealthCheckService>();
        HealthReportEntry entry = default;
        await Eventually.TrueAsync(async () =>
        {
            entry = (await health.CheckHealthAsync(c => c.Name == "xds")).Entries["xds"];
            return entry.Status == status;
        }, $"the xds check {status}: {what}", lastSeen: () => $"{entry.Status}: {entry.Description}");
        return entry;
    }
}
