using System.Net;
using System.Text.Json;
using MeshHost.Tests.Hosting;
using XdsServer.Cache;

namespace MeshHost.Tests.Operations;

/// <summary>
/// MeshHost's <c>/debug/registryz</c> and <c>/debug/configz</c>, and the library's <c>/debug/syncz</c> and
/// <c>/debug/config_dump?proxyID=</c> as the mesh maps them: what they show, that a Secret's content never shows,
/// and that a caller off loopback gets 403.
/// </summary>
public sealed class RegistryDebugTests : IDisposable
{
    private const string SecretValue = "c3VwZXItc2VjcmV0LXZhbHVl";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("meshhost-registryz-");

    public RegistryDebugTests() => File.WriteAllText(Path.Combine(_folder.FullName, "mesh.yaml"), $$$"""
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v1, namespace: bookinfo, labels: {app: reviews, version: v1}}
        spec: {serviceAccountName: bookinfo-reviews, containers: [{name: app, image: reviews}]}
        status: {podIP: 10.1.0.7, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-route, namespace: bookinfo}
        spec:
          hosts: [reviews]
          http: [{route: [{destination: {host: reviews, subset: v1}}]}]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: db-password, namespace: bookinfo}
        data: {password: {{{SecretValue}}}}
        stringData: {token: super-secret-token}
        """);

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Registryz_and_configz_show_services_endpoints_and_istio_config_but_no_secret()
    {
        await using var host = await InProcessMeshHost.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _folder.FullName]);
        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };

        var registryz = await http.GetStringAsync("/debug/registryz");
        using (var json = JsonDocument.Parse(registryz))
        {
            var service = Assert.Single(json.RootElement.GetProperty("services").EnumerateArray());
            Assert.Equal("reviews.bookinfo.svc.cluster.local", service.GetProperty("hostname").GetString());
            Assert.Equal(9080, Assert.Single(service.GetProperty("ports").EnumerateArray()).GetProperty("port").GetInt32());
            var endpoint = Assert.Single(service.GetProperty("endpoints").EnumerateArray());
            Assert.Equal("10.1.0.7", endpoint.GetProperty("address").GetString());
            Assert.Contains(json.RootElement.GetProperty("workloads").EnumerateArray(), w => w.GetProperty("name").GetString() == "reviews-v1");
            Assert.Contains(json.RootElement.GetProperty("otherObjects").EnumerateArray(),
                o => o.GetProperty("kind").GetString() == "networking.istio.io/VirtualService" && o.GetProperty("name").GetString() == "reviews-route");
            Assert.Equal("manifests", Assert.Single(json.RootElement.GetProperty("sources").EnumerateArray()).GetProperty("name").GetString());
        }

        var configz = await http.GetStringAsync("/debug/configz");
        using (var json = JsonDocument.Parse(configz))
        {
            var route = Assert.Single(json.RootElement.GetProperty("objects").EnumerateArray());
            Assert.Equal("networking.istio.io/VirtualService", route.GetProperty("kind").GetString());
            Assert.Equal("reviews", route.GetProperty("spec").GetProperty("hosts")[0].GetString());
        }

        foreach (var body in new[] { registryz, configz })
        {
            Assert.DoesNotContain(SecretValue, body, StringComparison.Ordinal);
            Assert.DoesNotContain("super-secret-token", body, StringComparison.Ordinal);
            Assert.DoesNotContain("db-password", body, StringComparison.Ordinal);
        }

        // The library's CSDS view and Envoy-shaped dump, mapped by the mesh; ?proxy= keeps the generated snapshot.
        await using var proxy = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar());
        await proxy.SendAsync(TypeUrls.Cluster);
        await proxy.AckAsync(await proxy.NextAsync("clusters"));
        var id = TestNodes.Sidecar().Id;
        await Eventually.TrueAsync(async () => (await http.GetStringAsync("/debug/syncz")).Contains("SYNCED", StringComparison.Ordinal),
            "the ACK in /debug/syncz");
        using (var dump = JsonDocument.Parse(await http.GetStringAsync("/debug/config_dump?proxyID=" + Uri.EscapeDataString(id))))
        {
            Assert.Equal("type.googleapis.com/envoy.admin.v3.ClustersConfigDump", dump.RootElement.GetProperty("configs")[0].GetProperty("@type").GetString());
            Assert.NotEmpty(dump.RootElement.GetProperty("configs")[0].GetProperty("dynamic_active_clusters").EnumerateArray());
        }

        using (var legacy = JsonDocument.Parse(await http.GetStringAsync("/debug/config_dump?proxy=" + Uri.EscapeDataString(id))))
        {
            Assert.Equal(id, legacy.RootElement.GetProperty("proxy").GetString());
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/debug/config_dump")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/debug/config_dump?proxyID=nobody")).StatusCode);
    }

    /// <summary>A caller that is not on loopback (a real connection, made to look remote by the host's middleware): 403 and only the reason.</summary>
    [Fact]
    public async Task A_caller_that_is_not_on_loopback_gets_403_from_every_new_door()
    {
        await using var host = await InProcessMeshHost.StartAsync(
            ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", _folder.FullName], remoteCallers: true);
        await using var proxy = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar());
        await proxy.SendAsync(TypeUrls.Cluster);
        await proxy.NextAsync("clusters");
        using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
        foreach (var path in new[] { "/", "/debug/syncz", "/debug/config_dump?proxyID=" + Uri.EscapeDataString(TestNodes.Sidecar().Id),
            "/debug/config_dump?proxy=x", "/debug/registryz", "/debug/configz" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Matches("^the (status page|debug endpoints) answer(s)? callers on this machine only \\(loopback[^\\n]*\\)\\n$", body);
        }
    }
}
