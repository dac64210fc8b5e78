using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Grpc.Core;
using MeshHost.Push;
using MeshHost.Tests.Hosting;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Cache;

namespace MeshHost.Tests;

/// <summary>The push pipeline in the running host: manifests edited while a proxy is connected, bad nodes, a
/// generation that fails for one proxy. The generator is a stand-in (a cluster per service port) so that what is
/// observed is the pipeline, whatever the builders generate.</summary>
public sealed class PushPipelineTests : IDisposable
{
    private const string Reviews = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        """;

    private const string Ratings = """
        apiVersion: v1
        kind: Service
        metadata: {name: ratings, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.21
          selector: {app: ratings}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        """;

    private const string ReviewsCluster = "outbound|9080||reviews.bookinfo.svc.cluster.local";
    private const string RatingsCluster = "outbound|9080||ratings.bookinfo.svc.cluster.local";
    private readonly DirectoryInfo _manifests = Directory.CreateTempSubdirectory("meshhost-push-");

    public PushPipelineTests() => File.WriteAllText(Path.Combine(_manifests.FullName, "reviews.yaml"), Reviews);

    public void Dispose() => _manifests.Delete(recursive: true);

    [Fact]
    public async Task A_manifest_edit_reaches_a_connected_proxy()
    {
        await using var host = await StartAsync(new MeshPublisherOptions { Generate = TestNodes.ClusterPerServicePort });
        await using var proxy = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar());
        await proxy.SendAsync(TypeUrls.Cluster);
        var first = await proxy.NextAsync("the clusters of the folder as it was");
        Assert.Equal([ReviewsCluster], Names(first));
        await proxy.AckAsync(first);

        await File.WriteAllTextAsync(Path.Combine(_manifests.FullName, "ratings.yaml"), Ratings);
        // Folder debounce (100 ms) + rescan (1 s) + push debounce (100 ms, at most 1 s): well within the wait.
        var next = await proxy.NextAsync("the clusters after ratings.yaml was written", TimeSpan.FromSeconds(15));
        Assert.Equal([RatingsCluster, ReviewsCluster], Names(next).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Node_ids_are_logged_escaped_so_a_client_cannot_forge_log_lines()
    {
        await using var host = await StartAsync(new MeshPublisherOptions { Generate = TestNodes.ClusterPerServicePort });
        const string Forged = "\n12:00:00 info: MeshHost[4012] Proxy connected: forged";

        // A well-formed Istio node id whose pod field carries a line break: accepted, logged on one line.
        var node = MeshFixture.Node("10.1.0.7", "reviews-v1" + Forged, "bookinfo");
        await using (var proxy = XdsProtocolClient.Open(host.Grpc, node))
        {
            await proxy.SendAsync(TypeUrls.Cluster);
            await proxy.AckAsync(await proxy.NextAsync("clusters for the node with a line break in its id"));
        }

        // A malformed one: refused, and its reason (which quotes the id) logged on one line too.
        await using (var bad = XdsProtocolClient.Open(host.Grpc, new Node { Id = "envoy-1" + Forged }))
        {
            await bad.SendAsync(TypeUrls.Cluster);
            Assert.Equal(StatusCode.InvalidArgument, (await bad.EndAsync("the malformed node to be refused")).StatusCode);
        }

        var connected = Assert.Single(host.Log.Entries, e => e.EventId.Id == 4012);
        var refused = Assert.Single(host.Log.Entries, e => e.EventId.Id == 4014);
        foreach (var entry in new[] { connected, refused })
        {
            Assert.Contains("forged", entry.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', entry.Message);
        }
    }

    [Theory]
    [InlineData("envoy-1", "not an Istio node id")]
    [InlineData("waypoint~10.1.0.7~reviews-v1.bookinfo~bookinfo.svc.cluster.local", "neither sidecar nor router")]
    public async Task A_bad_node_id_ends_the_stream_with_INVALID_ARGUMENT_and_the_reason(string nodeId, string reason)
    {
        await using var host = await StartAsync();
        await using var proxy = XdsProtocolClient.Open(host.Grpc, new Node { Id = nodeId });
        await proxy.SendAsync(TypeUrls.Cluster);
        var status = await proxy.EndAsync("the stream to be refused");
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains(reason, status.Detail, StringComparison.Ordinal);
        Assert.Empty(host.Host.Publisher.Proxies);
    }

    [Fact]
    public async Task A_generation_that_throws_for_one_proxy_is_logged_and_that_proxy_keeps_its_previous_configuration()
    {
        var flaky = TestNodes.Sidecar(ip: "10.1.0.9", pod: "flaky");
        await using var host = await StartAsync(new MeshPublisherOptions
        {
            Generate = (context, proxy) => proxy.PodName == "flaky" && context.ServicesByHost("ratings.bookinfo.svc.cluster.local").Count > 0
                ? throw new InvalidOperationException("generator bug")
                : TestNodes.ClusterPerServicePort(context, proxy),
        });
        await using var broken = XdsProtocolClient.Open(host.Grpc, flaky);
        await using var healthy = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar());
        foreach (var proxy in new[] { broken, healthy })
        {
            await proxy.SendAsync(TypeUrls.Cluster);
            var first = await proxy.NextAsync("the first clusters");
            Assert.Equal([ReviewsCluster], Names(first));
            await proxy.AckAsync(first);
        }

        await File.WriteAllTextAsync(Path.Combine(_manifests.FullName, "ratings.yaml"), Ratings);
        Assert.Equal(2, Names(await healthy.NextAsync("the healthy proxy's new clusters", TimeSpan.FromSeconds(15))).Count());
        await Eventually.TrueAsync(() => host.Log.Entries.Any(e => e.EventId.Id == 4020 && e.Message.Contains(flaky.Id, StringComparison.Ordinal)
            && e.Exception?.Message == "generator bug"), "the failed generation to be logged with the proxy's node id");
        var cache = host.Host.App.Services.GetRequiredService<SnapshotCache>();
        Assert.True(cache.TryGetSnapshot(flaky.Id, out var kept));
        Assert.Equal([ReviewsCluster], kept.GetResources(TypeUrls.Cluster)!.Names);
        Assert.True(await broken.NothingWithinAsync(TimeSpan.FromMilliseconds(300)), "the flaky proxy was sent something");
    }

    [Fact]
    public async Task The_last_stream_of_a_node_unregisters_it_and_clears_its_snapshot()
    {
        await using var host = await StartAsync(new MeshPublisherOptions { Generate = TestNodes.ClusterPerServicePort });
        var node = TestNodes.Sidecar();
        var cache = host.Host.App.Services.GetRequiredService<SnapshotCache>();
        var first = XdsProtocolClient.Open(host.Grpc, node);
        await using (var second = XdsProtocolClient.Open(host.Grpc, node))
        {
            await first.SendAsync(TypeUrls.Cluster);
            await second.SendAsync(TypeUrls.Cluster);
            await first.NextAsync("clusters on the first stream");
            await second.NextAsync("clusters on the second stream");
            Assert.Equal(2, Assert.Single(host.Host.Publisher.Proxies).Streams);
            await first.DisposeAsync();
            await Eventually.TrueAsync(() => host.Host.Publisher.Proxies.SingleOrDefault()?.Streams == 1, "the first stream to end");
            Assert.True(cache.TryGetSnapshot(node.Id, out _));
        }

        await Eventually.TrueAsync(() => host.Host.Publisher.Proxies.Count == 0, "the last stream to end");
        Assert.False(cache.TryGetSnapshot(node.Id, out _));
    }

    private Task<InProcessMeshHost> StartAsync(MeshPublisherOptions? options = null) =>
        InProcessMeshHost.StartAsync(["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _manifests.FullName], options);

    private static IEnumerable<string> Names(Envoy.Service.Discovery.V3.DiscoveryResponse response) =>
        response.Resources.Select(r => r.Unpack<Cluster>().Name);
}
