using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using MeshHost.Tests.Hosting;
using XdsServer.Cache;

namespace MeshHost.Tests;

/// <summary>GET /metrics on the MeshHost's HTTP port: the xDS, cache, CA and push series after a real exchange, in
/// Prometheus text, without any text a client sent; and GET /healthz saying why to loopback callers.</summary>
public sealed partial class MetricsEndpointTests : IDisposable
{
    // A piece of the proxy's node id that must never reach a scrape: labels are chosen by the server, not clients.
    private const string Marker = "q7z3x-leakcheck";
    private readonly ReviewsManifests _mesh = new("meshhost-metrics-");

    public void Dispose() => _mesh.Dispose();

    [Fact]
    public async Task A_scrape_after_an_xds_exchange_shows_the_xds_series_and_no_client_text()
    {
        await using var host = await _mesh.StartHostAsync();
        var node = TestNodes.Sidecar(pod: "reviews-" + Marker);
        Assert.Contains(Marker, node.Id, StringComparison.Ordinal);
        // The stream stays open while scraping: its ACK is counted when the server reads it, which closing the stream at
        // once could pre-empt.
        await using var proxy = XdsProtocolClient.Open(host.Grpc, node);
        await proxy.SendAsync(TypeUrls.Cluster, ["outbound|9080||reviews.bookinfo.svc.cluster.local", Marker]);
        await proxy.AckAsync(await proxy.NextAsync("clusters"));

        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
        string text = string.Empty;
        // Scrapes are cached for 300 ms and instruments export what they saw at collection: a later scrape shows it.
        await Eventually.TrueAsync(async () =>
        {
            using var response = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            text = await response.Content.ReadAsStringAsync();
            return Sample(text, "xds_server_responses_total", "xds_type=\"Cluster\"") >= 1
                && Sample(text, "xds_server_acks_total", "xds_type=\"Cluster\"") >= 1;
        }, "the scrape to count the CDS response and its ACK", TimeSpan.FromSeconds(10), () => text);

        Assert.True(Sample(text, "xds_cache_snapshots_set_total") >= 1, text);
        Assert.True(Sample(text, "meshhost_pushes_total") >= 1, text);
        Assert.Contains("# TYPE xds_server_push_latency_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("xds_server_streams_open{", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, text, StringComparison.Ordinal);

        // Not on the gRPC port: there /metrics is just an unknown path.
        using var grpcPort = new HttpClient { BaseAddress = host.Grpc, DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };
        using var onGrpc = await grpcPort.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, onGrpc.StatusCode);
    }

    [Fact]
    public async Task Healthz_names_each_check_with_its_status_and_why_for_a_loopback_caller()
    {
        await using var host = await _mesh.StartHostAsync();
        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };

        var text = await http.GetStringAsync("/healthz");
        var lines = text.Split('\n');
        Assert.Equal("Healthy", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("xds: Healthy - ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("certificate-authority: Healthy - ", StringComparison.Ordinal));
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels contain <paramref name="label"/>.</summary>
    private static double Sample(string text, string name, string label = "") =>
        SampleLine().Matches(text)
            .Where(m => m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{[^}]*\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
