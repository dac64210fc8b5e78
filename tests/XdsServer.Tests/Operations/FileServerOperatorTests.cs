using System.Net;
using System.Text.Json;
using XdsServer.Tests.Files;

namespace XdsServer.Tests.Operations;

/// <summary>The real examples/FileServer process serves the status page and the debug endpoints on its HTTP port.</summary>
public sealed class FileServerOperatorTests
{
    [Fact]
    public async Task The_file_server_shows_a_connected_proxy_on_its_status_page_syncz_and_config_dump()
    {
        var sample = Path.Combine(ExampleProcess.RepositoryRoot, "examples", "FileServer", "sample");
        int grpcPort = ExampleProcess.FreePort(), httpPort = ExampleProcess.FreePort();
        await using var server = await FileServerProcess.StartAsync(
            "--urls", $"http://127.0.0.1:{grpcPort}", "--resources", sample, "--http-urls", $"http://127.0.0.1:{httpPort}");
        var grpc = new Uri($"http://127.0.0.1:{grpcPort}");
        await GrpcHealthProbe.WaitForAsync(grpc, GrpcHealthProbe.Serving, TimeSpan.FromSeconds(60), () => server.Output);

        await using var client = XdsProtocolClient.Sotw(grpc, "file-node");
        await client.SendAsync(TypeUrls.Listener, ["hello"]);
        await client.AckAsync(await client.NextAsync("Listener hello"), ["hello"]);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        string syncz = string.Empty;
        await Eventually.TrueAsync(async () => (syncz = await http.GetStringAsync("/debug/syncz")).Contains("SYNCED", StringComparison.Ordinal),
            "the ACK in /debug/syncz");
        using (var json = JsonDocument.Parse(syncz))
        {
            var proxy = Assert.Single(json.RootElement.GetProperty("proxies").EnumerateArray());
            Assert.Equal("file-node", proxy.GetProperty("id").GetString());
        }

        var dump = await http.GetStringAsync("/debug/config_dump?proxyID=file-node");
        Assert.Contains("type.googleapis.com/envoy.admin.v3.ListenersConfigDump", dump, StringComparison.Ordinal);
        Assert.Contains("\"name\": \"hello\"", dump, StringComparison.Ordinal);

        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<h1>FileServer</h1>", html, StringComparison.Ordinal);
        Assert.Contains("file-node", html, StringComparison.Ordinal);
        Assert.Contains(">SYNCED</td>", html, StringComparison.Ordinal);
    }
}
