using k8s.Models;
using XdsServer.Discovery;
using XdsServer.Kubernetes.Testing;

namespace XdsServer.Kubernetes.Tests;

/// <summary>
/// The live source with the real <see cref="KubernetesTranslator"/> against the test API server: what a cluster
/// holds is what the registry holds, in the registry's terms, and a pod's readiness flip is one change.
/// </summary>
public sealed class KubernetesDiscoveryEndToEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_cluster_becomes_services_endpoints_workloads_and_config_and_a_readiness_flip_is_one_change()
    {
        await using var server = await TestApiServer.StartAsync();
        server.Register(ApiResource.VirtualServices);
        server.Add(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "reviews", NamespaceProperty = "bookinfo", Labels = new Dictionary<string, string> { ["app"] = "reviews" } },
            Spec = new V1ServiceSpec
            {
                ClusterIP = "10.96.0.12",
                Selector = new Dictionary<string, string> { ["app"] = "reviews" },
                Ports = [new V1ServicePort { Name = "http", Port = 9080, TargetPort = 9080 }, new V1ServicePort { Name = "metrics", Port = 15020, AppProtocol = "grpc" }],
            },
        });
        server.Add(Slice(readyOfSecond: true));
        server.Add(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "reviews-v1-7d9", NamespaceProperty = "bookinfo", Labels = new Dictionary<string, string> { ["app"] = "reviews", ["version"] = "v1", ["security.istio.io/tlsMode"] = "istio" } },
            Spec = new V1PodSpec { ServiceAccountName = "bookinfo-reviews", NodeName = "node-a" },
            Status = new V1PodStatus { PodIP = "10.244.1.7", Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }] },
        });
        server.Add(TestObjects.VirtualService("bookinfo", "reviews"));

        var registry = new ServiceRegistry();
        var source = new KubernetesDiscoverySource(new KubernetesDiscoveryOptions { KubeconfigPath = server.KubeconfigPath });
        using var sink = registry.OpenSink(source.Name);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => source.RunAsync(sink, stop.Token));
        try
        {
            await registry.WhenReady.WaitAsync(Bound);
            var now = registry.Current;
            var reviews = new ObjectKey(RegistryKinds.Service, "bookinfo", "reviews");
            var service = now.Get<DiscoveredService>(reviews) ?? throw new InvalidOperationException("no reviews service in the registry");
            Assert.Equal("reviews.bookinfo.svc.cluster.local", service.Hostname);
            Assert.Equal(["10.96.0.12"], service.Addresses);
            Assert.Equal([("http", 9080, ServicePortProtocol.Http), ("metrics", 15020, ServicePortProtocol.Grpc)],
                service.Ports.Select(p => (p.Name, p.Port, p.Protocol)));
            Assert.Equal([("10.244.1.7", true), ("10.244.2.9", true)], now.EndpointsOf(reviews).Select(e => (e.Address, e.Ready)).OrderBy(e => e.Address));
            var pod = Assert.Single(now.WorkloadsAt("10.244.1.7"));
            Assert.Equal(("bookinfo-reviews", "istio", "node-a"), (pod.ServiceAccount, pod.TlsMode, pod.NodeName));
            var virtualService = Assert.IsType<ConfigObject>(Assert.Single(now.OfKind("networking.istio.io/VirtualService")));
            Assert.Equal("reviews", virtualService.Spec.GetProperty("hosts")[0].GetString());

            // The second endpoint stops being ready: the slice alone changes.
            using var watch = registry.Watch();
            server.Update(Slice(readyOfSecond: false));
            using var timeout = new CancellationTokenSource(Bound);
            var (changes, after) = await watch.NextAsync(timeout.Token);
            var change = Assert.Single(changes);
            Assert.Equal((new ObjectKey(RegistryKinds.EndpointSlice, "bookinfo", "reviews-x1"), RegistryChangeKind.Updated), (change.Key, change.Kind));
            Assert.False(after.EndpointsOf(reviews).Single(e => e.Address == "10.244.2.9").Ready);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(Bound);
        }
    }

    private static V1EndpointSlice Slice(bool readyOfSecond) => new()
    {
        Metadata = new V1ObjectMeta { Name = "reviews-x1", NamespaceProperty = "bookinfo", Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "reviews" } },
        AddressType = "IPv4",
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 9080 }],
        Endpoints =
        [
            new V1Endpoint { Addresses = ["10.244.1.7"], Conditions = new V1EndpointConditions { Ready = true } },
            new V1Endpoint { Addresses = ["10.244.2.9"], Conditions = new V1EndpointConditions { Ready = readyOfSecond } },
        ],
    };
}
