using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using XdsServer.Tests.Files;

namespace XdsServer.Tests.Examples;

/// <summary>The real examples/FileServer process, as an operator sees it: GET /metrics (Prometheus text) and GET
/// /healthz saying why, on the HTTP/1.1 port.</summary>
public sealed partial class FileServerOperationsTests : IDisposable
{
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ChangeWait = TimeSpan.FromSeconds(10);
    // A piece of a node id and a resource name that must never reach a scrape: labels are chosen by the server.
    private const string Marker = "q7z3x-leakcheck";
    private readonly ResourceFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_scrape_after_an_ads_exchange_shows_the_xds_series_and_no_client_text()
    {
        await using var server = await StartAsync();
        // The stream stays open while scraping: its ACK is counted when the server reads it, which closing the
        // stream at once could pre-empt.
        await using var client = XdsProtocolClient.Sotw(server.Grpc, "node-" + Marker);
        await client.SendAsync(TypeUrls.Listener, ["hello", Marker]);
        await client.AckAsync(await client.NextAsync("the listener over ADS"));

        string text = string.Empty;
        // Scrapes are cached for 300 ms: a later one shows what the exchange counted.
        await Eventually.TrueAsync(async () =>
        {
            using var response = await server.Http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            text = await response.Content.ReadAsStringAsync();
            return Sample(text, "xds_server_responses_total", "xds_protocol=\"sotw\",xds_type=\"Listener\"") >= 1
                && Sample(text, "xds_server_acks_total", "xds_type=\"Listener\"") >= 1;
        }, "the scrape to count the LDS response and its ACK", ChangeWait, () => text + "\nserver output:\n" + server.Output);

        Assert.True(Sample(text, "xds_server_requests_total", "xds_type=\"Listener\"") >= 2, text);
        Assert.Equal(1, Sample(text, "xds_server_streams_open", "xds_protocol=\"sotw\""));
        Assert.True(Sample(text, "xds_server_bytes_sent_bytes_total") > 0, text);
        Assert.True(Sample(text, "xds_cache_snapshots_set_total") >= 1, text);
        Assert.Contains("# TYPE xds_server_push_latency_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, text, StringComparison.Ordinal);

        // Only on the HTTP/1.1 port: on the gRPC port /metrics is an unknown path.
        using var grpcPort = new HttpClient { BaseAddress = server.Grpc, DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };
        using var onGrpc = await grpcPort.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, onGrpc.StatusCode);
    }

    [Fact]
    public async Task Healthz_says_degraded_naming_the_bad_file_and_its_line_to_a_loopback_caller()
    {
        await using var server = await StartAsync();
        Assert.StartsWith("Healthy\n", await server.Http.GetStringAsync("/healthz"), StringComparison.Ordinal);

        // A YAML error: the folder keeps serving its last good load and reports the file, with the line and column
        // where the parser stopped (file:line:column: reason).
        _folder.Write("broken.yaml", "\"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\nname: [unclosed\n");
        string text = string.Empty;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await server.Http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // Degraded still serves
            text = await response.Content.ReadAsStringAsync();
            return text.StartsWith("Degraded\n", StringComparison.Ordinal);
        }, "/healthz to say Degraded", ChangeWait);

        var files = Assert.Single(text.Split('\n'), l => l.StartsWith("xds-files:files: ", StringComparison.Ordinal));
        Assert.StartsWith("xds-files:files: Degraded - ", files, StringComparison.Ordinal);
        Assert.Matches(@"broken\.yaml:\d+:\d+: not valid YAML", files);
        Assert.Contains("xds: Healthy", text, StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { { "Accept", "application/json" } } };
        using var json = await server.Http.SendAsync(request);
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        using var document = System.Text.Json.JsonDocument.Parse(await json.Content.ReadAsStringAsync());
        Assert.Equal("Degraded", document.RootElement.GetProperty("status").GetString());
        var check = document.RootElement.GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "xds-files:files");
        Assert.Equal("Degraded", check.GetProperty("status").GetString());
        Assert.Contains("broken.yaml", check.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    private async Task<Running> StartAsync()
    {
        _folder.WithHelloChain();
        int grpcPort = FileServerProcess.FreePort(), httpPort = FileServerProcess.FreePort();
        var process = await FileServerProcess.StartAsync(
            "--urls", $"http://127.0.0.1:{grpcPort}", "--resources", _folder.Path, "--http-urls", $"http://127.0.0.1:{httpPort}");
        var running = new Running(process, new Uri($"http://127.0.0.1:{grpcPort}"), new Uri($"http://127.0.0.1:{httpPort}"));
        try
        {
            await GrpcHealthProbe.WaitForAsync(running.Grpc, GrpcHealthProbe.Serving, StartupWait, () => process.Output);
            return running;
        }
        catch
        {
            await running.DisposeAsync();
            throw;
        }
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels contain <paramref name="label"/>.</summary>
    private static double Sample(string text, string name, string label = "") =>
        SampleLine().Matches(text)
            .Where(m => m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{[^}]*\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    private sealed class Running(FileServerProcess process, Uri grpc, Uri http) : IAsyncDisposable
    {
        public Uri Grpc { get; } = grpc;

        public string Output => process.Output;

        public HttpClient Http { get; } = new() { BaseAddress = http, Timeout = TimeSpan.FromSeconds(10) };

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await process.DisposeAsync();
        }
    }
}
