using System.Net;
using System.Text.Json;
using Grpc.Core;
using MeshHost.Hosting;
using MeshHost.Push;
using MeshHost.Tests.Hosting;
using Microsoft.AspNetCore.Http;
using XdsServer.Cache;

namespace MeshHost.Tests;

public sealed class HostDebugEndpointTests : IDisposable
{
    private const string Token = "tok-debug-77a1";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("meshhost-debug-");
    private readonly string _manifests;
    private readonly string _tokens;

    public HostDebugEndpointTests()
    {
        _manifests = Directory.CreateDirectory(Path.Combine(_folder.FullName, "manifests")).FullName;
        File.WriteAllText(Path.Combine(_manifests, "mesh.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.20
              selector: {app: reviews}
              ports: [{name: http, port: 9080, targetPort: 8080}]
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: broken, namespace: bookinfo}
            spec: {selector: {istio: ingressgateway}, servers: "not a list"}
            """);
        _tokens = Path.Combine(_folder.FullName, "tokens.json");
        File.WriteAllText(_tokens, JsonSerializer.Serialize(new Dictionary<string, string> { [Token] = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews" }));
    }

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Problems_proxies_and_a_config_dump_without_secrets_are_served_to_loopback_callers()
    {
        await using var host = await InProcessMeshHost.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _manifests, "--ca-tokens", _tokens],
            new MeshPublisherOptions
            {
                // Reads the Gateways as a gateway's generation would, so the broken one is reported.
                Generate = (context, proxy) =>
                {
                    _ = context.GatewaysOf(proxy);
                    return TestNodes.ClusterPerServicePort(context, proxy);
                },
            });

        // A sidecar that also fetched its secrets on the same stream: they must not show in its config dump.
        var node = TestNodes.Sidecar(serviceAccount: "bookinfo-reviews");
        await using var proxy = XdsProtocolClient.Open(host.Grpc, node, headers: new Metadata { { "authorization", "Bearer " + Token } });
        await proxy.SendAsync(TypeUrls.Cluster);
        await proxy.AckAsync(await proxy.NextAsync("clusters"));
        await proxy.SendAsync(TypeUrls.Secret, ["default", "ROOTCA"], withNode: false);
        var secrets = await proxy.NextAsync("secrets");
        Assert.Equal(2, secrets.Resources.Count);

        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
        using (var problems = JsonDocument.Parse(await http.GetStringAsync("/debug/problems")))
        {
            var problem = Assert.Single(problems.RootElement.EnumerateArray());
            Assert.Equal("networking.istio.io/Gateway", problem.GetProperty("kind").GetString());
            Assert.Equal("bookinfo", problem.GetProperty("namespace").GetString());
            Assert.Equal("broken", problem.GetProperty("name").GetString());
            Assert.Contains("spec.servers", problem.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        Assert.Single(host.Log.Entries, e => e.EventId.Id == 4022 && e.Message.Contains("broken", StringComparison.Ordinal));

        using (var proxies = JsonDocument.Parse(await http.GetStringAsync("/debug/proxies")))
        {
            var connected = Assert.Single(proxies.RootElement.EnumerateArray());
            Assert.Equal(node.Id, connected.GetProperty("nodeId").GetString());
            Assert.Equal("sidecar", connected.GetProperty("type").GetString());
            Assert.Equal("bookinfo", connected.GetProperty("namespace").GetString());
            Assert.Equal("reviews", connected.GetProperty("labels").GetProperty("app").GetString());
        }

        var dump = await http.GetStringAsync("/debug/config_dump?proxy=" + Uri.EscapeDataString(node.Id));
        using (var json = JsonDocument.Parse(dump))
        {
            var resources = json.RootElement.GetProperty("resources");
            var cluster = Assert.Single(resources.GetProperty(TypeUrls.Cluster).GetProperty("items").EnumerateArray());
            Assert.Equal("outbound|9080||reviews.bookinfo.svc.cluster.local", cluster.GetProperty("name").GetString());
            Assert.DoesNotContain(resources.EnumerateObject(), p => p.Name == TypeUrls.Secret);
        }

        Assert.DoesNotContain("PRIVATE KEY", dump, StringComparison.Ordinal);
        Assert.DoesNotContain("privateKey", dump, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/debug/config_dump?proxy=nobody")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/debug/config_dump")).StatusCode);
    }

    [Fact]
    public async Task The_status_page_shows_sources_proxies_and_problems_html_encoded()
    {
        await using var host = await InProcessMeshHost.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _manifests],
            new MeshPublisherOptions
            {
                Generate = (context, proxy) =>
                {
                    _ = context.GatewaysOf(proxy);
                    return TestNodes.ClusterPerServicePort(context, proxy);
                },
            });

        // A node id with markup in its pod name: the page must show it as text, never as HTML.
        var node = MeshFixture.Node("10.1.0.9", "evil<script>alert(1)</script>", "bookinfo");
        await using var proxy = XdsProtocolClient.Open(host.Grpc, node);
        await proxy.SendAsync(TypeUrls.Cluster);
        await proxy.AckAsync(await proxy.NextAsync("clusters"));

        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("<td>manifests</td><td>yes</td><td>yes</td>", page, StringComparison.Ordinal);
        Assert.Contains("Proxies (1)", page, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(node.Id), page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", page, StringComparison.Ordinal);
        Assert.Contains("<td>networking.istio.io/Gateway</td><td>bookinfo</td><td>broken</td>", page, StringComparison.Ordinal);
        Assert.Contains("Certificate authority", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_callers_with_both_ends_on_loopback_may_read_the_debug_endpoints()
    {
        Assert.True(DebugEndpoints.IsAllowed(Context(IPAddress.Loopback, IPAddress.Loopback)));
        Assert.True(DebugEndpoints.IsAllowed(Context(IPAddress.IPv6Loopback, IPAddress.IPv6Loopback)));
        Assert.False(DebugEndpoints.IsAllowed(Context(IPAddress.Parse("10.0.0.5"), IPAddress.Parse("10.0.0.9"))));
        // A forwarded (rewritten) remote address cannot make a caller local: the local end decides.
        Assert.False(DebugEndpoints.IsAllowed(Context(IPAddress.Parse("10.0.0.5"), IPAddress.Loopback)));
        Assert.False(DebugEndpoints.IsAllowed(Context(IPAddress.Loopback, IPAddress.Parse("10.0.0.9"))));
    }

    /// <summary>A caller that is not on loopback (a real connection, made to look remote by the host's middleware): 403.</summary>
    [Fact]
    public async Task A_caller_that_is_not_on_loopback_gets_403()
    {
        await using var host = await InProcessMeshHost.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _manifests], remoteCallers: true);
        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
        foreach (var path in new[] { "/", "/debug/problems", "/debug/proxies", "/debug/push_status", "/debug/config_dump?proxy=x" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }

    /// <summary>Every MeshHost debug endpoint marks its answer as the library's operator endpoints do, to loopback
    /// callers and in its refusals alike: live state is never cached, and never sniffed as another type.</summary>
    [Fact]
    public async Task Every_debug_endpoint_says_no_store_and_nosniff()
    {
        string[] paths = ["/debug/problems", "/debug/proxies", "/debug/registryz", "/debug/configz", "/debug/push_status",
            "/debug/config_dump?proxy=nobody", "/debug/syncz"];
        foreach (var remote in new[] { false, true })
        {
            await using var host = await InProcessMeshHost.StartAsync(
                ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _manifests], remoteCallers: remote);
            using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
            foreach (var path in paths)
            {
                using var response = await http.GetAsync(path);
                var what = $"{path} ({(remote ? "remote" : "loopback")} caller, {(int)response.StatusCode})";
                Assert.True(remote ? response.StatusCode == HttpStatusCode.Forbidden : response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound,
                    what);
                Assert.True(response.Headers.CacheControl?.NoStore == true, $"{what}: Cache-Control is '{response.Headers.CacheControl}'");
                Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.SequenceEqual(["nosniff"]),
                    $"{what}: no X-Content-Type-Options: nosniff");
            }
        }
    }

    private static DefaultHttpContext Context(IPAddress local, IPAddress remote)
    {
        var context = new DefaultHttpContext();
        context.Connection.LocalIpAddress = local;
        context.Connection.RemoteIpAddress = remote;
        return context;
    }
}
