using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using MeshHost.Tests.Hosting;
using XdsServer.Cache;
using Xunit.Abstractions;

namespace MeshHost.Tests.Operations;

/// <summary>
/// The status page in a real browser: Debian's <c>chromium</c>, headless, loads <c>GET /</c> of a live MeshHost with
/// connected proxies (one in sync, one that NACKed its listeners, one holding a workload identity); the test reads the
/// DOM after the page's script ran (proxy rows, per-type states, the drawn chart, the mesh and CA sections) and keeps a
/// screenshot as an artifact. The same page without a browser (no script) holds the tables.
/// </summary>
public sealed partial class StatusPageBrowserTests(ITestOutputHelper log) : IDisposable
{
    private const string Token = "tok-browser-5d1";
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromSeconds(90);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("meshhost-browser-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Chromium_shows_the_proxies_their_sync_state_the_push_chart_and_the_ca()
    {
        var chromium = FindChromium();
        var manifests = Directory.CreateDirectory(Path.Combine(_folder.FullName, "manifests")).FullName;
        File.WriteAllText(Path.Combine(manifests, "mesh.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.20
              selector: {app: reviews}
              ports: [{name: http, port: 9080, targetPort: 8080}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: ratings, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.21
              selector: {app: ratings}
              ports: [{name: http, port: 9080, targetPort: 9080}]
            """);
        var tokens = Path.Combine(_folder.FullName, "tokens.json");
        File.WriteAllText(tokens, JsonSerializer.Serialize(new Dictionary<string, string> { [Token] = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews" }));
        await using var host = await InProcessMeshHost.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", manifests, "--ca-tokens", tokens]);

        // In sync: clusters and listeners ACKed, its identity's secrets fetched and ACKed.
        var synced = TestNodes.Sidecar(serviceAccount: "bookinfo-reviews");
        await using var good = XdsProtocolClient.Open(host.Grpc, synced, headers: new Metadata { { "authorization", "Bearer " + Token } });
        await good.SendAsync(TypeUrls.Cluster);
        await good.AckAsync(await good.NextAsync("clusters"));
        await good.SendAsync(TypeUrls.Listener, withNode: false);
        await good.AckAsync(await good.NextAsync("listeners"));
        await good.SendAsync(TypeUrls.Secret, ["default", "ROOTCA"], withNode: false);
        await good.AckAsync(await good.NextAsync("secrets"), ["default", "ROOTCA"]);

        // Listeners NACKed: STALE.
        var rejecting = TestNodes.Sidecar(ip: "10.1.0.8", pod: "ratings-v1");
        await using var bad = XdsProtocolClient.Open(host.Grpc, rejecting);
        await bad.SendAsync(TypeUrls.Cluster);
        await bad.AckAsync(await bad.NextAsync("clusters"));
        await bad.SendAsync(TypeUrls.Listener, withNode: false);
        var listeners = await bad.NextAsync("listeners");
        await bad.SendAsync(TypeUrls.Listener, version: "", nonce: listeners.Nonce, error: "listener rejected by the test", withNode: false);

        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.TrueAsync(async () => (await http.GetStringAsync("/debug/syncz")).Contains("STALE", StringComparison.Ordinal),
            "the NACK in /debug/syncz");
        var url = new Uri(host.Http, "/").ToString();

        // Without a browser (JavaScript off): the tables are in the HTML; the chart is not drawn.
        var plain = await http.GetStringAsync("/");
        Assert.Contains("<table id=\"proxy-table\">", plain, StringComparison.Ordinal);
        Assert.Contains("<table id=\"type-table\">", plain, StringComparison.Ordinal);
        Assert.Contains("<table id=\"push-table\">", plain, StringComparison.Ordinal);
        Assert.Contains($"<tr data-node=\"{WebUtility.HtmlEncode(synced.Id)}\">", plain, StringComparison.Ordinal);
        Assert.Contains($"<tr data-node=\"{WebUtility.HtmlEncode(rejecting.Id)}\">", plain, StringComparison.Ordinal);
        Assert.Contains("data-drawn=\"false\"", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("<svg", plain, StringComparison.Ordinal);

        // In chromium, after the page's script ran.
        var profile = Directory.CreateDirectory(Path.Combine(_folder.FullName, "profile")).FullName;
        var (dom, stderr) = await RunAsync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", $"--user-data-dir={profile}", "--dump-dom", url]);
        string Context() => $"\nchromium stderr:\n{stderr}\nDOM:\n{dom}";
        Assert.True(dom.Contains("<h1>MeshHost</h1>", StringComparison.Ordinal), "the page's title is not in the DOM" + Context());

        var rows = ProxyRows().Matches(dom).ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => m.Groups[2].Value);
        Assert.True(rows.ContainsKey(synced.Id) && rows.ContainsKey(rejecting.Id), "a proxy row is missing" + Context());
        Assert.Matches(@"<td class=""sync synced""[^>]*>SYNCED</td>", rows[synced.Id]);
        Assert.DoesNotContain("STALE", rows[synced.Id], StringComparison.Ordinal);
        Assert.Matches(@"<td class=""sync stale""[^>]*>STALE</td>", rows[rejecting.Id]);
        Assert.Contains("listener rejected by the test", dom, StringComparison.Ordinal);

        var chart = ChartSvg().Match(dom);
        Assert.True(chart.Success, "the chart's <svg> was not drawn by the page's script" + Context());
        Assert.Contains("data-drawn=\"true\"", dom, StringComparison.Ordinal);
        Assert.Equal("90", chart.Groups["points"].Value); // one point per bucket of the window
        Assert.True(int.Parse(chart.Groups["bars"].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1,
            "no bar for the responses just sent" + Context());
        Assert.Contains("class=\"latency\"", dom, StringComparison.Ordinal);

        Assert.Contains("<h2>Certificate authority</h2>", dom, StringComparison.Ordinal);
        Assert.Contains("<th>identities held</th><td>1</td>", dom, StringComparison.Ordinal);
        Assert.Contains("<td>spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews</td>", dom, StringComparison.Ordinal);
        Assert.Contains("<h2>Mesh pushes</h2>", dom, StringComparison.Ordinal);
        Assert.Contains("<h2>Service registry</h2>", dom, StringComparison.Ordinal);
        Assert.Contains("<td>manifests</td><td>yes</td><td>yes</td>", dom, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", dom, StringComparison.Ordinal);

        // A screenshot, kept as the test's artifact.
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        var screenshot = Path.Combine(artifacts, "status-page.png");
        File.Delete(screenshot);
        var (_, shotErr) = await RunAsync(chromium,
            ["--headless", "--no-sandbox", "--disable-gpu", $"--user-data-dir={profile}", "--hide-scrollbars", $"--screenshot={screenshot}", "--window-size=1280,1800", url]);
        Assert.True(File.Exists(screenshot), $"chromium wrote no screenshot to {screenshot}\nchromium stderr:\n{shotErr}");
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 10_000 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }),
            $"{screenshot} is not a PNG of a rendered page ({png.Length} bytes)");
        log.WriteLine($"status page screenshot: {screenshot}");
    }

    /// <summary>Debian's chromium on PATH; its absence fails the test (the project's test setup installs it).</summary>
    private static string FindChromium()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "chromium");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("chromium is not installed: test.sh installs Debian's chromium (apt-get install -y chromium); "
            + "this test loads the status page in it and must not be skipped");
        return string.Empty;
    }

    /// <summary>Runs chromium with a bounded wait; its stdout, and its stderr for failure messages.</summary>
    private static async Task<(string Output, string Error)> RunAsync(string chromium, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{chromium} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(BrowserTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"chromium did not finish within {BrowserTimeout.TotalSeconds:0} s.\nstderr:\n{await stderr}");
        }

        var (output, error) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}.\nstderr:\n{error}");
        return (output, error);
    }

    [GeneratedRegex(@"<tr data-node=""([^""]*)"">(.*?)</tr>", RegexOptions.Singleline)]
    private static partial Regex ProxyRows();

    [GeneratedRegex(@"<svg[^>]*id=""push-chart-svg""[^>]*data-points=""(?<points>\d+)""[^>]*data-bars=""(?<bars>\d+)""")]
    private static partial Regex ChartSvg();
}
