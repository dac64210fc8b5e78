using System.Net;
using System.Text.Json;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace XdsServer.Tests.Operations;

/// <summary>
/// The library's operator surface (<c>MapXdsStatusPage</c>, <c>MapXdsDebug</c>) against a real server with a real
/// xDS stream: what the page and the JSON show, that client text is encoded, that no key material leaves, and that a
/// caller who is not local gets 403 and nothing else.
/// </summary>
public sealed class OperatorEndpointTests
{
    private const string KeyMaterial = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49-operator-test-key-material\n-----END PRIVATE KEY-----\n";
    private const string EvilNode = "evil<script>alert(1)</script>\"'&";
    private const string NackError = "listener <b>rejected</b>: <img src=x onerror=alert(2)>";

    [Fact]
    public async Task The_page_syncz_and_config_dump_show_sync_state_encoded_and_without_key_material()
    {
        await using var server = await StartAsync();
        server.Snapshots.SetSnapshot(EvilNode, Snapshot());
        await using var client = XdsProtocolClient.Sotw(server.Address, EvilNode);
        await ConnectAsync(client);

        using var http = Http(server);
        var status = await Eventually200Async(http, "/debug/syncz", json => json.Contains("STALE", StringComparison.Ordinal));
        using (var syncz = JsonDocument.Parse(status))
        {
            var proxy = Assert.Single(syncz.RootElement.GetProperty("proxies").EnumerateArray());
            Assert.Equal(EvilNode, proxy.GetProperty("id").GetString());
            var types = proxy.GetProperty("types").EnumerateArray().ToDictionary(t => t.GetProperty("type").GetString()!);
            Assert.Equal("SYNCED", types["Cluster"].GetProperty("state").GetString());
            Assert.Equal("SYNCED", types["Secret"].GetProperty("state").GetString());
            Assert.Equal("STALE", types["Listener"].GetProperty("state").GetString());
            Assert.Equal(NackError, types["Listener"].GetProperty("lastNack").GetProperty("error").GetString());
            Assert.Equal(types["Cluster"].GetProperty("sentVersion").GetString(), types["Cluster"].GetProperty("ackedVersion").GetString());
        }

        Assert.DoesNotContain("<script>", status, StringComparison.Ordinal); // JSON escapes markup too
        Assert.DoesNotContain("PRIVATE KEY", status, StringComparison.Ordinal);

        var dump = await http.GetStringAsync("/debug/config_dump?proxyID=" + Uri.EscapeDataString(EvilNode));
        using (var json = JsonDocument.Parse(dump))
        {
            var configs = json.RootElement.GetProperty("configs").EnumerateArray().ToDictionary(c => c.GetProperty("@type").GetString()!);
            var clusters = configs["type.googleapis.com/envoy.admin.v3.ClustersConfigDump"].GetProperty("dynamic_active_clusters");
            var cluster = Assert.Single(clusters.EnumerateArray());
            Assert.Equal("backend", cluster.GetProperty("cluster").GetProperty("name").GetString());
            Assert.Equal("ACKED", cluster.GetProperty("client_status").GetString());
            var listener = Assert.Single(configs["type.googleapis.com/envoy.admin.v3.ListenersConfigDump"].GetProperty("dynamic_listeners").EnumerateArray());
            Assert.Equal("NACKED", listener.GetProperty("client_status").GetString());
            Assert.Equal(NackError, listener.GetProperty("error_state").GetProperty("details").GetString());
            var secret = Assert.Single(configs["type.googleapis.com/envoy.admin.v3.SecretsConfigDump"].GetProperty("dynamic_active_secrets").EnumerateArray());
            Assert.Equal("server-cert", secret.GetProperty("name").GetString());
            Assert.Equal("server-cert", secret.GetProperty("secret").GetProperty("name").GetString());
            Assert.True(configs.ContainsKey("type.googleapis.com/envoy.admin.v3.RoutesConfigDump"));
            Assert.True(configs.ContainsKey("type.googleapis.com/envoy.admin.v3.EndpointsConfigDump"));
        }

        // Neither the Secret's key nor the inline key of the cluster's TLS context (a field the API marks sensitive).
        Assert.DoesNotContain("PRIVATE KEY", dump, StringComparison.Ordinal);
        Assert.DoesNotContain("operator-test-key-material", dump, StringComparison.Ordinal);
        Assert.Contains("backend.example", dump, StringComparison.Ordinal); // the rest of the TLS context is shown

        using var missing = await http.GetAsync("/debug/config_dump");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("proxyID", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var unknown = await http.GetAsync("/debug/config_dump?proxyID=nobody");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no proxy with node id 'nobody' is connected", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var response = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'sha256-", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains(WebUtility.HtmlEncode(EvilNode), page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>rejected", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<img src=x", page, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(NackError), page, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", page, StringComparison.Ordinal);
        Assert.Contains("<table id=\"proxy-table\">", page, StringComparison.Ordinal);
        Assert.Contains(">SYNCED</td>", page, StringComparison.Ordinal);
        Assert.Contains(">STALE</td>", page, StringComparison.Ordinal);
        Assert.Contains("Proxies (1)", page, StringComparison.Ordinal);
        Assert.Contains("href=\"/debug/config_dump?proxyID=" + WebUtility.HtmlEncode(Uri.EscapeDataString(EvilNode)) + "\"", page, StringComparison.Ordinal);

        // The host's own section, encoded like the rest; the push history holds the responses just sent.
        Assert.Contains("<h2>Custom &lt;b&gt;section&lt;/b&gt;</h2>", page, StringComparison.Ordinal);
        Assert.Contains("<td>&lt;img src=y onerror=alert(3)&gt;</td>", page, StringComparison.Ordinal);
        var data = page[(page.IndexOf("id=\"push-history\">", StringComparison.Ordinal) + 18)..];
        using var history = JsonDocument.Parse(data[..data.IndexOf("</script>", StringComparison.Ordinal)]);
        Assert.True(history.RootElement.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("n").GetInt64()) >= 3,
            "the push history counts the three responses sent");
        Assert.True(history.RootElement.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("nacks").GetInt64()) >= 1);
    }

    [Fact]
    public async Task A_caller_that_is_not_local_gets_403_with_the_reason_and_nothing_else()
    {
        await using var server = await StartAsync(remote: IPAddress.Parse("10.1.2.3"));
        server.Snapshots.SetSnapshot("visible-node", Snapshot());
        await using var client = XdsProtocolClient.Sotw(server.Address, "visible-node");
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("clusters"));

        using var http = Http(server);
        foreach (var (path, reason) in new[]
        {
            ("/", "the status page answers callers on this machine only (loopback; XdsStatusPageOptions.Authorize)\n"),
            ("/debug/syncz", "the debug endpoints answer callers on this machine only (loopback; XdsDebugOptions.Authorize)\n"),
            ("/debug/config_dump?proxyID=visible-node", "the debug endpoints answer callers on this machine only (loopback; XdsDebugOptions.Authorize)\n"),
            ("/debug/config_dump", "the debug endpoints answer callers on this machine only (loopback; XdsDebugOptions.Authorize)\n"),
        })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(reason, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task An_authorization_hook_decides_who_may_read_them()
    {
        await using var server = await StartAsync(authorize: (context, _) => ValueTask.FromResult(
            context.Request.Headers.Authorization == "Bearer operator-1" ? null : (string?)"an operator token is required"));
        using var http = Http(server);
        using (var refused = await http.GetAsync("/debug/syncz"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("an operator token is required\n", await refused.Content.ReadAsStringAsync());
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "operator-1");
        using var allowed = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("No proxy is connected.", await allowed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_section_may_link_only_to_a_path_of_this_host()
    {
        var writer = new XdsStatusSectionWriter(new System.Text.StringBuilder(), 10);
        writer.Link("ok", "/debug/registryz");
        Assert.Throws<ArgumentException>(() => writer.Link("away", "https://example.invalid/"));
        Assert.Throws<ArgumentException>(() => writer.Link("away", "//example.invalid/"));
        Assert.Throws<ArgumentException>(() => writer.Link("script", "javascript:alert(1)"));
    }

    /// <summary>Cluster (TLS context with an inline key), Listener, and a Secret with a private key.</summary>
    private static Snapshot Snapshot()
    {
        var cluster = Fixtures.Cluster("backend");
        cluster.TransportSocket = new Envoy.Config.Core.V3.TransportSocket
        {
            Name = "envoy.transport_sockets.tls",
            TypedConfig = Google.Protobuf.WellKnownTypes.Any.Pack(new UpstreamTlsContext
            {
                Sni = "backend.example",
                CommonTlsContext = new CommonTlsContext
                {
                    TlsCertificates = { new TlsCertificate { PrivateKey = new Envoy.Config.Core.V3.DataSource { InlineString = KeyMaterial } } },
                },
            }),
        };
        return XdsServer.Cache.Snapshot.CreateBuilder()
            .Add(cluster, Fixtures.Endpoints("backend", 8080), Fixtures.Listener("hello", "hello-route"), Fixtures.Route("hello-route", "backend"))
            .Add(new Secret
            {
                Name = "server-cert",
                TlsCertificate = new TlsCertificate { PrivateKey = new Envoy.Config.Core.V3.DataSource { InlineString = KeyMaterial } },
            })
            .Build();
    }

    /// <summary>A resource whose payload holds an <c>Any</c> of a type this process does not know (a custom extension
    /// set in code) cannot be printed as JSON: the dump still answers, shows that resource without its payload and
    /// says why, and prints the others whole.</summary>
    [Fact]
    public async Task Config_dump_survives_a_resource_holding_an_unknown_any()
    {
        await using var server = await StartAsync();
        var custom = Fixtures.Cluster("custom");
        custom.TypedExtensionProtocolOptions.Add("example.custom", new Google.Protobuf.WellKnownTypes.Any
        {
            TypeUrl = "type.googleapis.com/example.NotCompiledHere",
            Value = Google.Protobuf.ByteString.CopyFromUtf8("\n\u0001x"),
        });
        server.Snapshots.SetSnapshot("custom-node", XdsServer.Cache.Snapshot.CreateBuilder()
            .Add(custom, Fixtures.Cluster("plain"), Fixtures.Endpoints("custom", 8080), Fixtures.Endpoints("plain", 8080)).Build());
        await using var client = XdsProtocolClient.Sotw(server.Address, "custom-node");
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("clusters"));

        using var http = Http(server);
        var dump = await Eventually200Async(http, "/debug/config_dump?proxyID=custom-node", json => json.Contains("ACKED", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(dump);
        var byName = json.RootElement.GetProperty("configs")[0].GetProperty("dynamic_active_clusters").EnumerateArray().ToList();
        Assert.Equal(2, byName.Count);
        var plain = Assert.Single(byName, c => c.TryGetProperty("cluster", out var cl) && cl.GetProperty("name").GetString() == "plain");
        Assert.False(plain.TryGetProperty("error_state", out _));
        var shown = Assert.Single(byName, c => !c.TryGetProperty("cluster", out _));
        Assert.StartsWith("not shown: ", shown.GetProperty("error_state").GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.Contains("example.NotCompiledHere", shown.GetProperty("error_state").GetProperty("details").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Clusters ACKed, the secret ACKed, the listener NACKed.</summary>
    private static async Task ConnectAsync(XdsProtocolClient client)
    {
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("clusters"));
        await client.SendAsync(TypeUrls.Secret, ["server-cert"], withNode: false);
        var secrets = await client.NextAsync("the secret (loopback is confidential)");
        Assert.Contains("operator-test-key-material", secrets.Resources[0].Unpack<Secret>().TlsCertificate.PrivateKey.InlineString, StringComparison.Ordinal);
        await client.AckAsync(secrets, ["server-cert"]);
        await client.SendAsync(TypeUrls.Listener, withNode: false);
        var listeners = await client.NextAsync("listeners");
        await client.SendAsync(TypeUrls.Listener, version: "", nonce: listeners.Nonce, error: NackError, withNode: false);
    }

    private static Task<LoopbackXdsServer> StartAsync(IPAddress? remote = null, Func<HttpContext, CancellationToken, ValueTask<string?>>? authorize = null) =>
        LoopbackXdsServer.StartAsync(
            services: s => s.TryAddEnumerable(ServiceDescriptor.Singleton<IXdsStatusSection, CustomSection>()),
            map: app =>
            {
                if (remote is not null)
                {
                    // As if the request came from another machine: both ends of the connection off loopback.
                    app.Use((context, next) =>
                    {
                        context.Connection.RemoteIpAddress = remote;
                        context.Connection.LocalIpAddress = IPAddress.Parse("10.1.2.1");
                        return next(context);
                    });
                }

                app.MapXdsServer();
                app.MapXdsStatusPage(o =>
                {
                    o.Title = "Test server";
                    o.Authorize = authorize ?? o.Authorize;
                });
                app.MapXdsDebug(o => o.Authorize = authorize ?? o.Authorize);
            });

    /// <summary>HTTP/2 with prior knowledge: the test server speaks HTTP/2 only (cleartext).</summary>
    private static HttpClient Http(LoopbackXdsServer server) => new()
    {
        BaseAddress = server.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(10),
    };

    private static async Task<string> Eventually200Async(HttpClient http, string path, Func<string, bool> until)
    {
        var last = string.Empty;
        await Eventually.TrueAsync(async () =>
        {
            last = await http.GetStringAsync(path);
            return until(last);
        }, $"{path} shows the expected state");
        return last;
    }

    private sealed class CustomSection : IXdsStatusSection
    {
        public string Title => "Custom <b>section</b>";

        public ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken)
        {
            writer.Table(["value"], [["<img src=y onerror=alert(3)>"]]);
            return ValueTask.CompletedTask;
        }
    }
}
