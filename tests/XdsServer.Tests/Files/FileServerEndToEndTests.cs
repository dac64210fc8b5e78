using System.Net;
using System.Text;
using System.Text.Json;

namespace XdsServer.Tests.Files;

/// <summary>The real examples/FileServer process, driven by its documented command line.</summary>
public sealed class FileServerEndToEndTests(Xunit.Abstractions.ITestOutputHelper log) : IDisposable
{
    // Generous: a process start on a busy CI machine. What the server does once up gets ChangeWait.
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ChangeWait = TimeSpan.FromSeconds(10);
    private readonly ResourceFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Serves_the_sample_folder_over_ads_rest_and_health_once_loaded()
    {
        // A copy of the shipped sample, with the route file broken at first: the server must say NOT_SERVING.
        var sample = Path.Combine(FileServerProcess.RepositoryRoot, "examples", "FileServer", "sample");
        foreach (var file in Directory.GetFiles(sample))
        {
            File.Copy(file, Path.Combine(_folder.Path, Path.GetFileName(file)));
        }

        var route = File.ReadAllText(Path.Combine(sample, "route-hello.json"));
        _folder.Write("route-hello.json", route[..(route.Length / 2)]);
        int grpcPort = FileServerProcess.FreePort(), httpPort = FileServerProcess.FreePort();
        await using var server = await FileServerProcess.StartAsync(
            "--urls", $"http://127.0.0.1:{grpcPort}", "--resources", _folder.Path, "--http-urls", $"http://127.0.0.1:{httpPort}");
        var grpc = new Uri($"http://127.0.0.1:{grpcPort}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };

        var sw = System.Diagnostics.Stopwatch.StartNew();
        await GrpcHealthProbe.WaitForAsync(grpc, GrpcHealthProbe.NotServing, StartupWait, () => server.Output);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/healthz")).StatusCode);

        log.WriteLine($"NOT_SERVING {sw.ElapsedMilliseconds} ms after the start");
        _folder.Write("route-hello.json", route);
        await GrpcHealthProbe.WaitForAsync(grpc, GrpcHealthProbe.Serving, ChangeWait, () => server.Output);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        // The log line travels through the process's stdout pipe, which may lag the health answer.
        await Eventually.TrueAsync(() => server.Output.Contains("Loaded 4 resource(s) from 4 file(s)", StringComparison.Ordinal),
            "the server to log the load", ChangeWait);

        log.WriteLine($"SERVING {sw.ElapsedMilliseconds} ms after the start");
        // ADS: any node id sees the folder.
        await using (var client = XdsProtocolClient.Sotw(grpc, "any-node"))
        {
            await client.SendAsync(TypeUrls.Listener, ["hello"]);
            var lds = await client.NextAsync("Listener hello over ADS");
            Assert.Equal(TypeUrls.Listener, lds.TypeUrl);
            Assert.Equal("hello", lds.Resources.Single().Unpack<Envoy.Config.Listener.V3.Listener>().Name);
        }

        log.WriteLine($"Listener over ADS {sw.ElapsedMilliseconds} ms after the start");
        // REST fetch over HTTP/1.1: the cluster as JSON, then 304 for the version already held.
        using var fetch = await http.PostAsync("/v3/discovery:clusters",
            new StringContent("""{"node": {"id": "rest-node"}, "resource_names": ["hello"]}""", Encoding.UTF8, "application/json"));
        var body = await fetch.Content.ReadAsStringAsync();
        Assert.True(fetch.StatusCode == HttpStatusCode.OK, $"REST fetch: {(int)fetch.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        var cluster = json.RootElement.GetProperty("resources")[0];
        Assert.Equal("type.googleapis.com/envoy.config.cluster.v3.Cluster", cluster.GetProperty("@type").GetString());
        Assert.Equal("hello", cluster.GetProperty("name").GetString());
        Assert.Equal("EDS", cluster.GetProperty("type").GetString());
        var version = json.RootElement.GetProperty("versionInfo").GetString();
        using var again = await http.PostAsync("/v3/discovery:clusters", new StringContent(
            $$"""{"node": {"id": "rest-node"}, "resource_names": ["hello"], "version_info": "{{version}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
    }

    [Theory]
    [InlineData("missing --resources", "--urls", "http://127.0.0.1:18000")]
    [InlineData("does not exist", "--urls", "http://127.0.0.1:18000", "--resources", "/no/such/folder")]
    [InlineData("bad URL", "--urls", "ftp://127.0.0.1:18000", "--resources", ".")]
    [InlineData("is https:// but no --tls-cert/--tls-key are given", "--urls", "https://127.0.0.1:18000", "--resources", ".")]
    [InlineData("--tls-cert and --tls-key go together", "--urls", "https://127.0.0.1:18000", "--resources", ".", "--tls-cert", "a.pem")]
    [InlineData("no URL is https://", "--urls", "http://127.0.0.1:18000", "--resources", ".", "--tls-cert", "a.pem", "--tls-key", "b.pem")]
    [InlineData("bad URL", "--urls", "http://127.0.0.1", "--resources", ".")]
    [InlineData("bad URL", "--urls", "http://127.0.0.1:18000;http://example.com:1", "--resources", ".")]
    [InlineData("missing --urls", "--resources", ".")]
    [InlineData("unknown argument", "--urls", "http://127.0.0.1:18000", "--resources", ".", "--verbose")]
    [InlineData("need --ca", "--urls", "http://127.0.0.1:18000", "--resources", ".", "--ca-tokens", "tokens.json")]
    [InlineData("token file", "--urls", "http://127.0.0.1:18000", "--resources", ".", "--ca", "ca", "--ca-tokens", "/no/such/tokens.json")]
    public async Task Bad_arguments_exit_with_2_and_a_usage_line(string error, params string[] args)
    {
        await using var server = await FileServerProcess.StartAsync(args);
        var code = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 2, $"exit code {code}; output:\n{server.Output}");
        Assert.Contains(error, server.Output, StringComparison.Ordinal);
        Assert.Contains("usage: FileServer --urls", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_urls_separated_by_semicolons_all_serve()
    {
        int a = FileServerProcess.FreePort(), b = FileServerProcess.FreePort();
        var sample = Path.Combine(FileServerProcess.RepositoryRoot, "examples", "FileServer", "sample");
        await using var server = await FileServerProcess.StartAsync(
            "--urls", $"http://127.0.0.1:{a};http://localhost:{b}", "--resources", sample);
        foreach (var port in new[] { a, b })
        {
            await GrpcHealthProbe.WaitForAsync(new Uri($"http://127.0.0.1:{port}"), GrpcHealthProbe.Serving, StartupWait, () => server.Output);
        }
    }
}
