using System.Text.Json;
using MeshHost.Demo;
using MeshHost.Generation;
using MeshHost.Model;
using MeshHost.Tests.Hosting;
using XdsServer.Cache;

namespace MeshHost.Tests;

/// <summary>The cached generator gives what the plain one gives on the demo mesh (sidecar, gateway, proxyless), and
/// the host reports its pushes at <c>/debug/push_status</c>.</summary>
public sealed class PushStatusTests
{
    [Fact]
    public async Task The_cached_generator_gives_every_demo_proxy_the_resources_the_plain_generator_gives()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);
        var cache = new ResourceCache(context);
        Proxy[] proxies =
        [
            MeshFixture.Proxy("127.0.0.1", "productpage-v1", "bookinfo", new Dictionary<string, string> { ["app"] = "productpage", ["version"] = "v1" }),
            MeshFixture.Proxy("127.0.0.1", "reviews-v2", "bookinfo", new Dictionary<string, string> { ["app"] = "reviews", ["version"] = "v2" }),
            MeshFixture.Proxy("127.0.0.1", "istio-ingressgateway", "istio-system", new Dictionary<string, string> { ["istio"] = "ingressgateway" }, type: "router"),
            MeshFixture.Proxy("127.0.0.1", "client", "bookinfo", generator: "grpc"),
        ];
        foreach (var proxy in proxies)
        {
            var expected = MeshGenerator.Generate(context, proxy);
            var actual = MeshGenerator.Generate(cache, proxy);
            Assert.Equal(expected.ResourceSets.Select(s => s.TypeUrl), actual.ResourceSets.Select(s => s.TypeUrl));
            foreach (var set in expected.ResourceSets)
            {
                Assert.Equal(set.Version, actual.GetVersion(set.TypeUrl));
            }
            // A full update of an equal snapshot changes nothing: every set stays the same instance.
            var again = MeshGenerator.Update(cache, proxy, actual, ProxyPush.FullFor("test"));
            Assert.All(actual.ResourceSets, s => Assert.Same(s, again.GetResources(s.TypeUrl)));
        }
    }

    [Fact]
    public async Task Push_status_reports_the_last_push_and_totals_to_loopback_callers()
    {
        var folder = Directory.CreateTempSubdirectory("meshhost-push-status-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "reviews.yaml"), """
                apiVersion: v1
                kind: Service
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  clusterIP: 10.96.0.20
                  ports: [{name: http, port: 9080, targetPort: 8080}]
                """);
            await using var host = await InProcessMeshHost.StartAsync(
                ["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", folder.FullName]);
            await host.Host.Publisher.WhenReady.WaitAsync(TimeSpan.FromSeconds(15));
            await using var proxy = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar());
            await proxy.SendAsync(TypeUrls.Cluster);
            await proxy.NextAsync("the proxy's clusters");

            using var http = new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(10) };
            using var status = JsonDocument.Parse(await http.GetStringAsync("/debug/push_status"));
            var last = status.RootElement.GetProperty("last");
            Assert.Equal("initial", last.GetProperty("reason").GetString());
            Assert.Equal(1, last.GetProperty("sequence").GetInt64());
            var totals = status.RootElement.GetProperty("totals");
            Assert.Equal(1, totals.GetProperty("pushes").GetInt64());
            Assert.Equal(1, totals.GetProperty("proxiesPushed").GetInt64());
            Assert.Equal(1, totals.GetProperty("byReason").GetProperty("initial").GetInt64());
            Assert.Equal(1, status.RootElement.GetProperty("connectedProxies").GetInt32());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
