using MeshHost.Generation;
using MeshHost.Istio;
using MeshHost.Model;
using MeshHost.Push;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Cache;
using XdsServer.Discovery;
using XdsServer.Kubernetes;

namespace MeshHost.Tests;

/// <summary>The push pipeline pushes O(changed): only proxies that can see a change, only the resource types it
/// affects, with resources shared between proxies and pushes. The publisher runs on a fake clock over a registry the
/// test writes (manifests translated by the real manifest source), so every push is one the test caused.</summary>
public sealed class PushScopeTests
{
    private const string XCluster = "outbound|9080||x.alpha.svc.cluster.local";

    /// <summary>Two namespaces, each seeing only itself (root Sidecar <c>./*</c>): x in alpha, y in beta.</summary>
    private const string Mesh = """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: default, namespace: istio-system}
        spec:
          egress: [{hosts: ["./*"]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: x, namespace: alpha}
        spec:
          clusterIP: 10.96.0.10
          selector: {app: x}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: x-1, namespace: alpha, labels: {app: x}}
        status: {podIP: 10.1.0.1, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: y, namespace: beta}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: y}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: y-1, namespace: beta, labels: {app: y}}
        status: {podIP: 10.2.0.1, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    private const string SecondXPod = """
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: x-2, namespace: alpha, labels: {app: x}}
        status: {podIP: 10.1.0.3, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    private const string XRoutes = """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: x, namespace: alpha}
        spec:
          hosts: [x]
          http:
          - timeout: 3s
            route: [{destination: {host: x}}]
        """;

    private static readonly Proxy X1 = MeshFixture.Proxy("10.1.0.1", "x-1", "alpha", new Dictionary<string, string> { ["app"] = "x" });
    private static readonly Proxy Client = MeshFixture.Proxy("10.1.0.2", "client", "alpha", new Dictionary<string, string> { ["app"] = "client" });
    private static readonly Proxy Y1 = MeshFixture.Proxy("10.2.0.1", "y-1", "beta", new Dictionary<string, string> { ["app"] = "y" });

    [Fact]
    public async Task A_change_to_a_service_pushes_only_the_proxies_that_see_it()
    {
        await using var world = await World.StartAsync(Mesh, X1, Client, Y1);
        await world.ChangeAsync(Mesh.Replace("ports: [{name: http, port: 9080, targetPort: 8080}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x-1",
            "ports: [{name: http, port: 9080, targetPort: 8080}, {name: grpc, port: 7070}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x-1", StringComparison.Ordinal));

        Assert.Equal(2, world.Pushes(X1));
        Assert.Equal(2, world.Pushes(Client));
        Assert.Contains("outbound|7070||x.alpha.svc.cluster.local", world.Snapshot(Client).GetResources(TypeUrls.Cluster)!.Names);
        // y's proxy is scoped to beta by the root Sidecar: it cannot see x, and gets nothing.
        Assert.Equal(1, world.Pushes(Y1));
        Assert.Equal(1, world.Skipped(Y1));
        var last = world.Publisher.Status.Last!;
        Assert.Equal((2, 1), (last.ProxiesPushed, last.ProxiesSkipped));
        Assert.Contains("Service", last.Reason.Split(","));
    }

    [Fact]
    public async Task An_endpoint_change_is_an_EDS_only_push_that_keeps_every_other_resource_set()
    {
        await using var world = await World.StartAsync(Mesh, X1, Client, Y1);
        var before = world.Snapshot(Client);
        await world.ChangeAsync(Mesh + "\n" + SecondXPod);

        var after = world.Snapshot(Client);
        Assert.Equal(2, world.Pushes(Client));
        foreach (var type in new[] { TypeUrls.Cluster, TypeUrls.Listener, TypeUrls.RouteConfiguration })
        {
            Assert.Same(before.GetResources(type), after.GetResources(type));
        }
        Assert.NotSame(before.GetResources(TypeUrls.ClusterLoadAssignment), after.GetResources(TypeUrls.ClusterLoadAssignment));
        Assert.True(after.GetResources(TypeUrls.ClusterLoadAssignment)!.TryGet(XCluster, out var assignment));
        Assert.Equal(2, ((Envoy.Config.Endpoint.V3.ClusterLoadAssignment)assignment.Message).Endpoints.Sum(l => l.LbEndpoints.Count));
        Assert.Equal(1, world.Pushes(Y1));
        Assert.Equal(2, world.Publisher.Status.Last!.Endpoints);
        Assert.Equal(2, world.Publisher.Status.ByType["eds"]);
        // The EDS-only update is what a full generation gives.
        AssertSameVersions(MeshGenerator.Generate(world.Publisher.Current!, Client), after);
    }

    [Fact]
    public async Task A_VirtualService_change_pushes_routes_to_the_proxies_that_see_its_host_only()
    {
        await using var world = await World.StartAsync(Mesh, X1, Client, Y1);
        var before = world.Snapshot(Client);
        await world.ChangeAsync(Mesh + "\n" + XRoutes);

        var after = world.Snapshot(Client);
        Assert.Same(before.GetResources(TypeUrls.Cluster), after.GetResources(TypeUrls.Cluster));
        Assert.Same(before.GetResources(TypeUrls.ClusterLoadAssignment), after.GetResources(TypeUrls.ClusterLoadAssignment));
        Assert.NotEqual(before.GetVersion(TypeUrls.RouteConfiguration), after.GetVersion(TypeUrls.RouteConfiguration));
        Assert.Equal((2, 2, 1), (world.Pushes(Client), world.Pushes(X1), world.Pushes(Y1)));
        Assert.Equal(2, world.Publisher.Status.ByType["routes"]);
        AssertSameVersions(MeshGenerator.Generate(world.Publisher.Current!, Client), after);
    }

    [Fact]
    public async Task A_burst_of_changes_is_debounced_into_one_push()
    {
        await using var world = await World.StartAsync(Mesh, X1, Client, Y1);
        var pushes = world.Publisher.Status.Pushes;
        var objects = await World.ObjectsAsync(Mesh + "\n" + SecondXPod + "\n" + XRoutes);
        // Three writes, one object each, while the clock stands still.
        foreach (var key in new[] { "Pod/alpha/x-2", "networking.istio.io/VirtualService/alpha/x", "manifests.xdsserver/SelectedEndpoints/alpha/x" })
        {
            Assert.NotEmpty(world.Sink.Apply([objects.Single(o => o.Key.ToString() == key)]));
        }
        await Eventually.TrueAsync(() => world.Publisher.Status.PendingChanges == 3, "the three changes to be in one debounce window");
        Assert.Equal(pushes, world.Publisher.Status.Pushes);

        await world.AdvanceUntilPushedAsync(pushes);
        var status = world.Publisher.Status;
        Assert.Equal(pushes + 1, status.Pushes);
        Assert.Equal(3, status.Last!.ChangedKeys);
        Assert.Equal(0, status.PendingChanges);
        Assert.Equal((2, 1), (status.Last.ProxiesPushed, status.Last.ProxiesSkipped));
    }

    [Fact]
    public async Task Proxies_with_the_same_inputs_share_cluster_resources_and_a_selecting_DestinationRule_splits_them()
    {
        var context = await MeshFixture.LoadAsync(Mesh + "\n" + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: x-for-clients, namespace: alpha}
            spec:
              host: x
              workloadSelector: {matchLabels: {app: client}}
              trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
            """);
        var other = MeshFixture.Proxy("10.1.0.9", "other", "alpha", new Dictionary<string, string> { ["app"] = "other" });
        var cache = new ResourceCache(context);
        var x1 = MeshGenerator.Generate(cache, X1);
        var sameInputs = MeshGenerator.Generate(cache, other);
        var client = MeshGenerator.Generate(cache, Client);

        Assert.Same(Resource(x1, TypeUrls.Cluster, XCluster), Resource(sameInputs, TypeUrls.Cluster, XCluster));
        Assert.Same(Resource(x1, TypeUrls.ClusterLoadAssignment, XCluster), Resource(sameInputs, TypeUrls.ClusterLoadAssignment, XCluster));
        Assert.NotSame(Resource(x1, TypeUrls.Cluster, XCluster), Resource(client, TypeUrls.Cluster, XCluster));
        Assert.Equal(Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.LeastRequest,
            ((Envoy.Config.Cluster.V3.Cluster)Resource(client, TypeUrls.Cluster, XCluster).Message).LbPolicy);
        foreach (var (proxy, snapshot) in new[] { (X1, x1), (other, sameInputs), (Client, client), (Y1, MeshGenerator.Generate(cache, Y1)) })
        {
            AssertSameVersions(MeshGenerator.Generate(context, proxy), snapshot);
        }

        // The next push's cache reuses an unchanged resource's instance.
        var next = cache.Next(context, ChangeScope.Everything("full"));
        Assert.Same(Resource(x1, TypeUrls.Cluster, XCluster), Resource(MeshGenerator.Generate(next, X1), TypeUrls.Cluster, XCluster));
    }

    private static XdsResource Resource(Snapshot snapshot, string type, string name) =>
        snapshot.GetResources(type)!.TryGet(name, out var resource) ? resource : throw new InvalidOperationException($"no {type} {name}");

    private static void AssertSameVersions(Snapshot expected, Snapshot actual)
    {
        foreach (var set in expected.ResourceSets)
        {
            Assert.Equal(set.Names.Order(StringComparer.Ordinal), actual.GetResources(set.TypeUrl)!.Names.Order(StringComparer.Ordinal));
            Assert.Equal(set.Version, actual.GetVersion(set.TypeUrl));
        }
    }

    /// <summary>A registry the test writes, a publisher on a fake clock, and registered proxies.</summary>
    private sealed class World : IAsyncDisposable
    {
        private static readonly HashSet<string> Kinds = new(StringComparer.Ordinal)
        {
            RegistryKinds.Service, RegistryKinds.ServiceEntry, RegistryKinds.EndpointSlice, RegistryKinds.Pod, RegistryKinds.WorkloadEntry,
            RegistryKinds.Node, ManifestDiscoverySource.SelectedEndpointsKind, KubernetesTranslator.ServiceEntryEndpointsKind,
            IstioKinds.VirtualService, IstioKinds.DestinationRule, IstioKinds.Gateway, IstioKinds.Sidecar, IstioKinds.PeerAuthentication,
            IstioKinds.AuthorizationPolicy, IstioKinds.RequestAuthentication,
        };

        private readonly CancellationTokenSource _stop = new();

        private World(ServiceRegistry registry, DiscoverySink sink, MeshPublisher publisher, SnapshotCache cache, FakeTimeProvider time)
        {
            Registry = registry;
            Sink = sink;
            Publisher = publisher;
            Cache = cache;
            Time = time;
        }

        public ServiceRegistry Registry { get; }

        public DiscoverySink Sink { get; }

        public MeshPublisher Publisher { get; }

        public SnapshotCache Cache { get; }

        public FakeTimeProvider Time { get; }

        public static async Task<World> StartAsync(string yaml, params Proxy[] proxies)
        {
            var registry = new ServiceRegistry();
            var sink = registry.OpenSink("test");
            sink.Replace(Kinds, await ObjectsAsync(yaml));
            sink.SetReady();
            var time = new FakeTimeProvider();
            var cache = new SnapshotCache();
            var world = new World(registry, sink, new MeshPublisher(registry, cache, new MeshOptions(), new MeshPublisherOptions(), time), cache, time);
            await world.Publisher.StartAsync(world._stop.Token);
            await world.Publisher.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
            foreach (var proxy in proxies)
            {
                world.Publisher.Register(proxy);
                Assert.Equal(1, world.Pushes(proxy));
            }
            return world;
        }

        /// <summary>The registry objects of <paramref name="yaml"/>, as the manifest source translates them.</summary>
        public static async Task<IReadOnlyList<RegistryObject>> ObjectsAsync(string yaml)
        {
            var registry = (await MeshFixture.LoadAsync(yaml)).Registry;
            return [.. Kinds.SelectMany(registry.OfKind)];
        }

        /// <summary>Makes the registry hold <paramref name="yaml"/>'s objects, and waits for the one push it causes.</summary>
        public async Task ChangeAsync(string yaml)
        {
            var pushes = Publisher.Status.Pushes;
            var changes = Sink.Replace(Kinds, await ObjectsAsync(yaml));
            Assert.NotEmpty(changes);
            await Eventually.TrueAsync(() => Publisher.Status.PendingChanges == changes.Count, $"the {changes.Count} changes to be debounced");
            await AdvanceUntilPushedAsync(pushes);
        }

        /// <summary>Moves the fake clock a quiet period at a time until a push after <paramref name="pushes"/> is done.</summary>
        public Task AdvanceUntilPushedAsync(long pushes) => Eventually.TrueAsync(() =>
        {
            if (Publisher.Status.Pushes > pushes)
            {
                return true;
            }
            Time.Advance(TimeSpan.FromMilliseconds(100));
            return false;
        }, "the debounced push");

        public long Pushes(Proxy proxy) => Publisher.Proxies.Single(p => p.Proxy.NodeId == proxy.NodeId).Pushes;

        public long Skipped(Proxy proxy) => Publisher.Proxies.Single(p => p.Proxy.NodeId == proxy.NodeId).Skipped;

        public Snapshot Snapshot(Proxy proxy) =>
            Cache.TryGetSnapshot(proxy.NodeId, out var snapshot) ? snapshot : throw new InvalidOperationException($"no snapshot for {proxy.NodeId}");

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Publisher.StopAsync(CancellationToken.None);
            Publisher.Dispose();
            Sink.Dispose();
            _stop.Dispose();
        }
    }
}
