using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace XdsServer.Tests;

/// <summary><see cref="XdsHealthResponse"/>: why a check is not healthy, told to loopback callers and to nobody
/// else.</summary>
public class HealthResponseTests
{
    // What a description may hold: a path and a host that a caller who proved nothing must not learn.
    private const string Secretive = "/srv/xds/private/cluster.yaml:3:1 unreachable from api.internal.example";

    [Fact]
    public async Task A_loopback_caller_reads_each_checks_status_and_why_in_text_or_json()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // Degraded still serves
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');
        Assert.Equal("Degraded", lines[0]);
        Assert.Contains($"files: Degraded - {Secretive}", lines);
        Assert.Contains(lines, l => l.StartsWith("xds: Healthy - ", StringComparison.Ordinal));
        Assert.Contains("    second line", lines); // a description's further lines stay under their check

        using var document = await JsonAsync(http, "/healthz");
        var root = document.RootElement;
        Assert.Equal("Degraded", root.GetProperty("status").GetString());
        Assert.False(root.GetProperty("descriptionsHidden").GetBoolean());
        var files = root.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "files");
        Assert.Equal("Degraded", files.GetProperty("status").GetString());
        Assert.Equal(Secretive + "\nsecond line", files.GetProperty("description").GetString());
    }

    [Fact]
    public async Task A_remote_caller_gets_status_and_check_names_but_no_description()
    {
        // As behind a reverse proxy: the forwarded address is the caller's, and it is not this machine.
        await using var server = await StartAsync(forwarded: true);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");

        using var response = await http.GetAsync("/healthz");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["Degraded", "files: Degraded", "xds: Healthy", "(why a check is not healthy is shown to callers on this machine only)", ""],
            text.Split('\n'));
        Assert.DoesNotContain("private", text, StringComparison.Ordinal);

        using var document = await JsonAsync(http, "/healthz");
        var json = document.RootElement.GetRawText();
        Assert.True(document.RootElement.GetProperty("descriptionsHidden").GetBoolean());
        Assert.All(document.RootElement.GetProperty("checks").EnumerateArray(), c => Assert.False(c.TryGetProperty("description", out _)));
        Assert.DoesNotContain("private", json, StringComparison.Ordinal);
        Assert.DoesNotContain("stream", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unhealthy_check_answers_503_and_another_rule_can_allow_descriptions()
    {
        await using var server = await StartAsync(
            forwarded: true,
            status: HealthStatus.Unhealthy,
            writer: XdsHealthResponse.WithDescriptionsFor(context => context.Request.Headers["X-Operator"] == "yes"));
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");

        using var hidden = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, hidden.StatusCode);
        Assert.StartsWith("Unhealthy\nfiles: Unhealthy\n", await hidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { { "X-Operator", "yes" } } };
        using var shown = await http.SendAsync(request);
        Assert.Contains($"files: Unhealthy - {Secretive}", await shown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<JsonDocument> JsonAsync(HttpClient http, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "Accept", "application/json" } } };
        using var response = await http.SendAsync(request);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static Task<LoopbackXdsServer> StartAsync(bool forwarded = false, HealthStatus status = HealthStatus.Degraded,
        Func<Microsoft.AspNetCore.Http.HttpContext, HealthReport, Task>? writer = null) =>
        LoopbackXdsServer.StartAsync(
            http1: true,
            services: s => s.AddHealthChecks().AddCheck("files", () => new HealthCheckResult(status, Secretive + "\nsecond line")),
            map: app =>
            {
                if (forwarded)
                {
                    // The default trusts forwarding from loopback only: the test client.
                    app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor });
                }

                app.MapXdsServer();
                app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = writer ?? XdsHealthResponse.WriteAsync });
            });
}
