using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using XdsServer.Discovery;

namespace XdsServer.Tests.Discovery;

/// <summary>The service registry: typed objects and indexes, ownership by source, relists that emit only real
/// differences, coalescing watches, readiness and health, and the hosted sources.</summary>
public class ServiceRegistryTests
{
    private static readonly ObjectKey Reviews = new(RegistryKinds.Service, "default", "reviews");

    private static DiscoveredService Service(string name, string version = "1", params ServicePort[] ports) => new()
    {
        Key = new ObjectKey(RegistryKinds.Service, "default", name),
        ResourceVersion = version,
        Hostname = $"{name}.default.svc.cluster.local",
        Ports = ports,
    };

    private static EndpointGroup Slice(string name, ObjectKey service, string version, params string[] addresses) => new()
    {
        Key = new ObjectKey(RegistryKinds.EndpointSlice, service.Namespace, name),
        ResourceVersion = version,
        Service = service,
        Endpoints = [.. addresses.Select(a => new WorkloadEndpoint { Address = a, Ports = new Dictionary<string, int> { ["http"] = 9080 } })],
    };

    private static Workload Pod(string name, string address) => new()
    {
        Key = new ObjectKey(RegistryKinds.Pod, "default", name),
        ResourceVersion = "1",
        Addresses = [address],
        ServiceAccount = "bookinfo-reviews",
    };

    [Fact]
    public void Objects_are_found_by_key_kind_service_and_address()
    {
        var registry = new ServiceRegistry();
        using var sink = registry.OpenSink("k8s");
        sink.Apply([
            Service("reviews", ports: new ServicePort("http", 9080, 9080, null, ServicePortProtocol.Http)),
            Slice("reviews-abc", Reviews, "1", "10.0.0.1", "10.0.0.2"),
            Slice("reviews-def", Reviews, "1", "10.0.0.3"),
            Pod("reviews-v1-1", "10.0.0.1"),
            new ConfigObject { Key = new("networking.istio.io/VirtualService", "default", "reviews"), ResourceVersion = "1", Spec = JsonDocument.Parse("{\"hosts\":[\"reviews\"]}").RootElement.Clone() },
        ]);

        var now = registry.Current;
        Assert.Equal(5, now.Count);
        Assert.Equal("reviews.default.svc.cluster.local", Assert.Single(now.Services).Hostname);
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], now.EndpointsOf(Reviews).Select(e => e.Address).Order());
        Assert.Equal("bookinfo-reviews", Assert.Single(now.WorkloadsAt("10.0.0.1")).ServiceAccount);
        Assert.Empty(now.WorkloadsAt("10.0.0.9"));
        var config = Assert.IsType<ConfigObject>(Assert.Single(now.OfKind("networking.istio.io/VirtualService")));
        Assert.Equal("reviews", config.Spec.GetProperty("hosts")[0].GetString());

        // Removing a slice removes its endpoints from the service, and the address index follows the workloads.
        sink.Apply([], [new ObjectKey(RegistryKinds.EndpointSlice, "default", "reviews-abc"), new ObjectKey(RegistryKinds.Pod, "default", "reviews-v1-1")]);
        Assert.Equal(["10.0.0.3"], registry.Current.EndpointsOf(Reviews).Select(e => e.Address));
        Assert.Empty(registry.Current.WorkloadsAt("10.0.0.1"));
        Assert.Equal(5, now.Count); // an earlier snapshot does not change
    }

    [Fact]
    public void An_endpoints_locality_comes_from_its_nodes_labels_read_when_asked()
    {
        var registry = new ServiceRegistry();
        using var sink = registry.OpenSink("k8s");
        var onNode = new WorkloadEndpoint { Address = "10.0.0.1", NodeName = "node-a", Locality = new Locality(string.Empty, "zone-from-slice", string.Empty) };
        var elsewhere = new WorkloadEndpoint { Address = "10.0.0.2", NodeName = "node-unknown", Locality = new Locality(string.Empty, "z9", string.Empty) };
        Assert.Equal(new Locality(string.Empty, "zone-from-slice", string.Empty), registry.Current.LocalityOf(onNode));

        sink.Apply([Node("1", "us-east1", "us-east1-b")]);
        Assert.Equal(new Locality("us-east1", "us-east1-b", string.Empty), registry.Current.LocalityOf(onNode));
        Assert.Equal(new Locality(string.Empty, "z9", string.Empty), registry.Current.LocalityOf(elsewhere));

        sink.Apply([Node("2", "us-east1", "us-east1-c")]); // relabelled: seen without touching the endpoint
        Assert.Equal("us-east1-c", registry.Current.LocalityOf(onNode).Zone);

        static ConfigObject Node(string version, string region, string zone) => new()
        {
            Key = new ObjectKey(RegistryKinds.Node, string.Empty, "node-a"),
            ResourceVersion = version,
            Labels = new Dictionary<string, string> { ["topology.kubernetes.io/region"] = region, ["topology.kubernetes.io/zone"] = zone },
            Spec = JsonDocument.Parse("{}").RootElement.Clone(),
        };
    }

    [Fact]
    public void Replace_emits_only_the_real_differences_of_a_relist()
    {
        var registry = new ServiceRegistry();
        using var sink = registry.OpenSink("k8s");
        sink.Replace(new HashSet<string> { RegistryKinds.Service }, [Service("a"), Service("b"), Service("c")]);
        var generation = registry.Current.Generation;

        // The relist: a unchanged, b updated, c gone, d new.
        var changes = sink.Replace(new HashSet<string> { RegistryKinds.Service }, [Service("a"), Service("b", "2"), Service("d")]);

        Assert.Equal(
            [("b", RegistryChangeKind.Updated), ("c", RegistryChangeKind.Removed), ("d", RegistryChangeKind.Added)],
            changes.Select(c => (c.Key.Name, c.Kind)).OrderBy(c => c.Name));
        Assert.Equal(generation + 1, registry.Current.Generation);
        Assert.Empty(sink.Replace(new HashSet<string> { RegistryKinds.Service }, [Service("a"), Service("b", "2"), Service("d")]));
        Assert.Equal(generation + 1, registry.Current.Generation); // no change, no new snapshot
    }

    [Fact]
    public void A_replace_of_some_kinds_leaves_the_others_and_a_bad_batch_changes_nothing()
    {
        var registry = new ServiceRegistry();
        using var sink = registry.OpenSink("k8s");
        sink.Apply([Service("a"), Slice("a-1", Reviews, "1", "10.0.0.1")]);

        sink.Replace(new HashSet<string> { RegistryKinds.Service }, []);
        Assert.Null(registry.Current.Get(new ObjectKey(RegistryKinds.Service, "default", "a")));
        Assert.NotNull(registry.Current.Get(new ObjectKey(RegistryKinds.EndpointSlice, "default", "a-1")));

        var before = registry.Current;
        var e = Assert.Throws<ArgumentException>(() => sink.Replace(new HashSet<string> { RegistryKinds.Service }, [Service("x"), Pod("p", "10.0.0.5")]));
        Assert.Contains("Pod/default/p is not of the kinds being replaced", e.Message, StringComparison.Ordinal);
        Assert.Same(before, registry.Current);
    }

    [Fact]
    public void An_object_belongs_to_the_source_that_wrote_it_first()
    {
        var logs = new LogCapture();
        var registry = new ServiceRegistry(logger: logs.CreateLogger<ServiceRegistry>());
        using var cluster = registry.OpenSink("k8s");
        using var folder = registry.OpenSink("folder");
        cluster.Apply([Service("reviews")]);

        Assert.Empty(folder.Apply([Service("reviews", "9")]));
        Assert.Empty(folder.Apply([], [Reviews]));
        Assert.Equal("1", registry.Current.Get(Reviews)!.ResourceVersion);
        Assert.Contains(logs.Entries, l => l.EventId.Id == 2200 && l.Message.Contains("source 'folder' ignored: source 'k8s' already provides it", StringComparison.Ordinal));

        // A folder's relist cannot remove what the cluster provides either.
        folder.Replace(new HashSet<string> { RegistryKinds.Service }, []);
        Assert.NotNull(registry.Current.Get(Reviews));
        Assert.Throws<InvalidOperationException>(() => registry.OpenSink("k8s"));
    }

    [Fact]
    public async Task A_watch_coalesces_changes_by_object()
    {
        var registry = new ServiceRegistry();
        using var sink = registry.OpenSink("k8s");
        using var watch = registry.Watch();
        sink.Apply([Service("a"), Service("b")]);
        sink.Apply([Service("a", "2")]);          // added then updated: still added
        sink.Apply([], [new ObjectKey(RegistryKinds.Service, "default", "b")]); // added then removed: nothing
        sink.Apply([Service("c")]);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var (changes, snapshot) = await watch.NextAsync(timeout.Token);
        Assert.Equal([("a", RegistryChangeKind.Added), ("c", RegistryChangeKind.Added)], changes.Select(c => (c.Key.Name, c.Kind)).OrderBy(c => c.Name));
        Assert.Equal("2", snapshot.Get(new ObjectKey(RegistryKinds.Service, "default", "a"))!.ResourceVersion);

        var next = watch.NextAsync(timeout.Token);
        Assert.False(next.IsCompleted, "a watch with nothing new must wait");
        sink.Apply([], [new ObjectKey(RegistryKinds.Service, "default", "a")]);
        sink.Apply([Service("a", "3")]); // removed then added again: updated
        Assert.Equal([("a", RegistryChangeKind.Updated)], (await next).Changes.Select(c => (c.Key.Name, c.Kind)));
    }

    [Fact]
    public async Task The_registry_is_ready_when_every_source_is_and_health_says_why()
    {
        var registry = new ServiceRegistry();
        var health = new DiscoveryHealthCheck(registry);
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);
        using var cluster = registry.OpenSink("k8s");
        using var folder = registry.OpenSink("folder");
        cluster.SetReady("3 services");
        Assert.False(registry.IsReady);
        Assert.False(registry.WhenReady.IsCompleted);
        var loading = await health.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, loading.Status);
        Assert.Contains("folder: loading", loading.Description, StringComparison.Ordinal);

        folder.SetReady("2 files");
        Assert.True(registry.IsReady);
        Assert.True(registry.WhenReady.IsCompletedSuccessfully);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        folder.SetHealth(false, "reviews.yaml line 4: mapping values are not allowed here");
        var degraded = await health.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("reviews.yaml line 4", degraded.Description, StringComparison.Ordinal);
        Assert.False(registry.Sources.Single(s => s.Name == "folder").Healthy);
    }

    [Theory]
    [InlineData("http", null, null, ServicePortProtocol.Http)]
    [InlineData(null, "http-web", null, ServicePortProtocol.Http)]
    [InlineData(null, "grpc", null, ServicePortProtocol.Grpc)]
    [InlineData(null, "GRPC-web", null, ServicePortProtocol.Grpc)]
    [InlineData("kubernetes.io/h2c", "tcp-x", null, ServicePortProtocol.Http2)]
    [InlineData("unknown-proto", "redis-main", null, ServicePortProtocol.Redis)]
    [InlineData(null, "web", null, ServicePortProtocol.Unknown)]
    [InlineData(null, "http", "UDP", ServicePortProtocol.Udp)]
    [InlineData(null, null, null, ServicePortProtocol.Unknown)]
    public void Port_protocols_follow_istios_explicit_selection(string? appProtocol, string? name, string? transport, ServicePortProtocol expected) =>
        Assert.Equal(expected, ServicePort.ProtocolOf(appProtocol, name, transport));

    [Fact]
    public async Task Hosted_sources_fill_the_registry_and_a_failing_source_is_restarted()
    {
        var flaky = new FlakySource();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddXdsServer().AddSnapshotCache().AddDiscoverySource(_ => flaky);
        await using var app = builder.Build();
        await app.StartAsync();
        try
        {
            var registry = app.Services.GetRequiredService<ServiceRegistry>();
            await registry.WhenReady.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(2, flaky.Runs); // the first run threw; the host ran it again
            Assert.NotNull(registry.Current.Get(Reviews));
            var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Healthy, report.Entries["discovery"].Status);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private sealed class FlakySource : IServiceDiscoverySource
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        public string Name => "flaky";

        public async Task RunAsync(DiscoverySink sink, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _runs) == 1)
            {
                throw new InvalidOperationException("the backend is not there yet");
            }

            sink.Apply([Service("reviews")]);
            sink.SetReady();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
