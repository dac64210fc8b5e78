using Grpc.Net.Client;
using MeshHost.Demo;
using MeshHost.Generation;
using XdsServer.Discovery;
using XdsServer.Kubernetes;
using XdsServer.Testing.Echo;

namespace MeshHost.Tests;

/// <summary>Loads a folder of manifests the way the host serves the demo: through the manifest-folder source into
/// a service registry.</summary>
internal static class DemoContext
{
    public static async Task<PushContext> LoadAsync(string folder, MeshOptions? options = null)
    {
        var registry = new ServiceRegistry();
        using var source = new ManifestDiscoverySource(new ManifestDiscoveryOptions { Directory = folder, Domain = options?.Domain ?? "cluster.local" });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(registry.OpenSink(source.Name), stop.Token);
        var ready = await Task.WhenAny(registry.WhenReady, run, Task.Delay(TimeSpan.FromSeconds(30)));
        if (ready != registry.WhenReady)
        {
            throw new TimeoutException("The manifest source did not become ready within 30 s" + (run.IsFaulted ? $": {run.Exception}" : "."));
        }
        if (source.Problems.Count > 0)
        {
            throw new InvalidOperationException("The demo manifests have problems: " + string.Join("; ", source.Problems));
        }
        var context = new PushContext(registry.Current, options ?? new MeshOptions());
        await stop.CancelAsync();
        try
        {
            await run;
        }
        catch (OperationCanceledException)
        {
        }
        return context;
    }
}

public class DemoMeshTests
{
    [Fact]
    public async Task The_demo_manifests_load_without_problems_into_services_endpoints_and_istio_config()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        var context = await DemoContext.LoadAsync(demo.ManifestsDirectory);

        Assert.Empty(context.Problems);
        foreach (var host in new[] { "productpage", "details", "reviews", "ratings" })
        {
            var service = Assert.Single(context.ServicesByHost($"{host}.bookinfo.svc.cluster.local"));
            var port = Assert.Single(service.Ports);
            Assert.Equal((9080, ServicePortProtocol.Grpc), (port.Port, port.Protocol));
        }
        Assert.Single(context.ServicesByHost("api.example.com"));
        Assert.Single(context.ServicesByHost("istio-ingressgateway.istio-system.svc.cluster.local"));

        // All workloads share 127.0.0.1: the registry keeps them apart by port, and each endpoint carries its pod's
        // labels, so DestinationRule subsets can select by version.
        var reviews = context.ServicesByHost("reviews.bookinfo.svc.cluster.local")[0];
        var endpoints = context.Registry.EndpointsOf(reviews.Key).ToList();
        Assert.Equal(3, endpoints.Count);
        foreach (var version in new[] { "v1", "v2", "v3" })
        {
            var endpoint = Assert.Single(endpoints, e => e.Labels.GetValueOrDefault("version") == version);
            Assert.Equal("127.0.0.1", endpoint.Address);
            Assert.Equal(demo.Workload($"reviews-{version}").Port, endpoint.Ports["grpc"]);
            Assert.Equal("bookinfo-reviews", endpoint.ServiceAccount);
        }
        var external = Assert.Single(context.Registry.EndpointsOf(context.ServicesByHost("api.example.com")[0].Key));
        Assert.Equal(demo.Workload("external-api").Port, external.Ports["grpc"]);

        Assert.Equal(["bookinfo/bookinfo", "bookinfo/reviews"], Keys(context, MeshHost.Istio.IstioKinds.VirtualService));
        Assert.Equal(["bookinfo/reviews"], Keys(context, MeshHost.Istio.IstioKinds.DestinationRule));
        Assert.Equal(["bookinfo/bookinfo-gateway"], Keys(context, MeshHost.Istio.IstioKinds.Gateway));
        Assert.Equal(["istio-system/default"], Keys(context, MeshHost.Istio.IstioKinds.PeerAuthentication));
        Assert.Equal(["bookinfo/ratings-from-reviews"], Keys(context, MeshHost.Istio.IstioKinds.AuthorizationPolicy));
        var gateway = Assert.Single(context.GatewaysOf(MeshFixture.Proxy("127.0.0.1", "istio-ingressgateway", "istio-system",
            new Dictionary<string, string> { ["istio"] = "ingressgateway" }, type: "router")));
        Assert.Equal(["bookinfo.example.com"], gateway.Spec.Servers.Single().Hosts);
    }

    [Fact]
    public async Task Every_workload_answers_an_echo_call_with_its_name()
    {
        await using var demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);

        Assert.Equal(DemoMesh.WorkloadNames, demo.Workloads.Select(w => w.Name));
        Assert.Equal(demo.Workloads.Count, demo.Workloads.Select(w => w.Port).Distinct().Count());
        foreach (var workload in demo.Workloads)
        {
            // The test support's client of xds.test.Echo: the same wire service as the demo's own proto.
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{workload.Port}");
            var reply = await new Echo.EchoClient(channel).CallAsync(new EchoRequest { Message = "hi" }, deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.Equal((workload.Name, "hi"), (reply.Backend, reply.Message));
            Assert.Equal(1, workload.Calls);
        }
    }

    [Fact]
    public async Task Disposing_the_demo_stops_its_workloads_and_deletes_its_manifests()
    {
        var demo = await DemoMesh.StartAsync("mesh.example", CancellationToken.None);
        var folder = demo.ManifestsDirectory;
        var port = demo.Workload("ratings-v1").Port;
        var rendered = await File.ReadAllTextAsync(Path.Combine(folder, "30-traffic.yaml"));
        Assert.Contains("host: reviews.bookinfo.svc.mesh.example", rendered, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\$\{[a-z0-9:-]+\}", string.Concat(Directory.GetFiles(folder).Select(File.ReadAllText)));

        await demo.DisposeAsync();

        Assert.False(Directory.Exists(folder), $"{folder} is still there");
        using var client = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => client.ConnectAsync("127.0.0.1", port));
    }

    [Fact]
    public void A_template_naming_an_unknown_workload_is_refused()
    {
        var ports = new Dictionary<string, int> { ["reviews-v1"] = 4000 };
        Assert.Equal("port: 4000 in cluster.local", DemoMesh.Render("port: ${port:reviews-v1} in ${domain}", "cluster.local", ports));
        var error = Assert.Throws<InvalidOperationException>(() => DemoMesh.Render("port: ${port:reviews-v9}", "cluster.local", ports));
        Assert.Contains("port:reviews-v9", error.Message, StringComparison.Ordinal);
    }

    private static List<string> Keys(PushContext context, string kind) =>
        [.. context.Registry.OfKind(kind).Select(o => $"{o.Key.Namespace}/{o.Key.Name}").Order(StringComparer.Ordinal)];
}
