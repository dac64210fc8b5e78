using System.Diagnostics;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Route.V3;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using XdsServer.Files;

namespace XdsServer.Tests.Files;

/// <summary>The file resource source: a folder of YAML/JSON resources published as one snapshot, kept in step
/// with the folder, never replaced by a bad or inconsistent folder.</summary>
public sealed class FileResourceSourceTests(ITestOutputHelper output) : IDisposable
{
    private const string Group = FileResourceOptions.DefaultGroup;

    // The first load of a test run also pays for building the API type registry and JIT; changes after it get
    // the 5 s default of WaitForAsync (they are published within a second on an idle machine).
    private static readonly TimeSpan FirstLoad = TimeSpan.FromSeconds(15);
    private readonly ResourceFolder _folder = new();
    private readonly SnapshotCache _cache = new(new SnapshotCacheOptions { NodeHash = new NodeHash(_ => Group) });

    public void Dispose()
    {
        _cache.Dispose();
        _folder.Dispose();
    }

    private async Task<FileResourceSource> StartAsync(Action<FileResourceOptions>? configure = null)
    {
        var options = new FileResourceOptions { Directory = _folder.Path };
        configure?.Invoke(options);
        var source = new FileResourceSource(options, _cache);
        await source.StartAsync(CancellationToken.None);
        return source;
    }

    private Snapshot Served() => _cache.TryGetSnapshot(Group, out var snapshot)
        ? snapshot
        : throw new InvalidOperationException($"nothing is served for group '{Group}'");

    private static IEnumerable<string> Names(Snapshot snapshot, string typeUrl) =>
        snapshot.GetResources(typeUrl)?.Sorted.Select(r => r.Name) ?? [];

    [Fact]
    public async Task Publishes_yaml_and_json_files_single_resources_and_lists()
    {
        _folder.WithHelloChain();
        _folder.Write("more.json", $$"""{"resources": [ {{ResourceFolder.ClusterJson("second")}}, {"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "cluster_name": "second"} ]}""");
        _folder.Write("multi.yaml", ResourceFolder.ListenerYaml("other", "hello-route") + "\n---\n" + ResourceFolder.ListenerYaml("third", "hello-route") + "\n---\n");
        _folder.Write("notes.txt", "not a resource file");
        await using var source = await StartAsync();

        await source.WhenLoaded.WaitAsync(FirstLoad);

        var status = source.Status;
        Assert.True(status.IsLoaded);
        Assert.Empty(status.Errors);
        Assert.Equal(5, status.FileCount);
        Assert.Equal(8, status.ResourceCount);
        var snapshot = Served();
        Assert.Same(source.Snapshot, snapshot);
        Assert.Equal(["hello", "other", "third"], Names(snapshot, TypeUrls.Listener));
        Assert.Equal(["hello-route"], Names(snapshot, TypeUrls.RouteConfiguration));
        Assert.Equal(["hello", "second"], Names(snapshot, TypeUrls.Cluster));
        Assert.Equal(["hello", "second"], Names(snapshot, TypeUrls.ClusterLoadAssignment));
        Assert.True(snapshot.Validate().IsValid);

        // The YAML numbers and JSON empty strings survive the mapping: a set oneof stays set.
        var route = (RouteConfiguration)snapshot.GetResources(TypeUrls.RouteConfiguration)!.Sorted.Single().Message;
        Assert.Equal(RouteMatch.PathSpecifierOneofCase.Prefix, route.VirtualHosts[0].Routes[0].Match.PathSpecifierCase);
        var cla = (ClusterLoadAssignment)snapshot.GetResources(TypeUrls.ClusterLoadAssignment)!.Sorted[0].Message;
        Assert.Equal(50051u, cla.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue);
        Assert.Equal("z1", cla.Endpoints[0].Locality.Zone);
    }

    [Fact]
    public async Task A_change_is_published_within_a_second_and_costs_only_what_changed()
    {
        _folder.WithHelloChain();
        await using var source = await StartAsync();
        await source.WhenLoaded.WaitAsync(FirstLoad);
        var before = Served();

        var watch = Stopwatch.StartNew();
        File.WriteAllText(Path.Combine(_folder.Path, "cluster.yml"), ResourceFolder.ClusterWithEndpointsYaml(port: 50052)); // in place
        await source.WaitForAsync(s => !ReferenceEquals(source.Snapshot, before) && s.Errors.Count == 0, "the new endpoints");
        output.WriteLine($"published {watch.ElapsedMilliseconds} ms after the write");

        var after = Served();
        Assert.Same(source.Snapshot, after);
        Assert.NotEqual(before.GetVersion(TypeUrls.ClusterLoadAssignment), after.GetVersion(TypeUrls.ClusterLoadAssignment));
        var cla = (ClusterLoadAssignment)after.GetResources(TypeUrls.ClusterLoadAssignment)!.Sorted.Single().Message;
        Assert.Equal(50052u, cla.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue);
        // Unchanged files cost nothing: their types' sets are the very same objects, and the cluster read again
        // from the changed file (same content) keeps its version.
        Assert.Same(before.GetResources(TypeUrls.Listener), after.GetResources(TypeUrls.Listener));
        Assert.Same(before.GetResources(TypeUrls.RouteConfiguration), after.GetResources(TypeUrls.RouteConfiguration));
        Assert.Same(before.GetResources(TypeUrls.Cluster), after.GetResources(TypeUrls.Cluster));
    }

    [Fact]
    public async Task A_bad_file_keeps_the_last_good_snapshot_and_is_reported_with_its_name_and_reason()
    {
        _folder.WithHelloChain();
        await using var source = await StartAsync();
        await source.WhenLoaded.WaitAsync(FirstLoad);
        var good = Served();
        var loadedAt = source.Status.LastLoadedAt;

        _folder.Write("broken.yaml", "name: [unclosed");
        _folder.Write("unknown-field.json", """{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "x", "no_such_field": 1}""");
        _folder.Write("unknown-type.json", """{"@type": "type.googleapis.com/envoy.config.core.v3.Node", "id": "x"}""");
        _folder.Write("no-name.yaml", "\"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\ntype: EDS");
        _folder.Write("empty.yaml", "# nothing yet\n");
        _folder.Write("explicitly-empty.json", """{"resources": []}""");
        var status = await source.WaitForAsync(s => s.Errors.Count == 5, "five rejected files");

        Assert.Same(good, Served());
        Assert.True(status.IsLoaded);
        Assert.Equal(loadedAt, status.LastLoadedAt);
        var byFile = status.Errors.ToDictionary(e => e.File, e => e.Reason);
        Assert.Contains("not valid YAML", byFile["broken.yaml"], StringComparison.Ordinal);
        Assert.Contains("no_such_field", byFile["unknown-field.json"], StringComparison.Ordinal);
        Assert.Contains("envoy.config.core.v3.Node", byFile["unknown-type.json"], StringComparison.Ordinal);
        Assert.Contains("name", byFile["no-name.yaml"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("empty", byFile["empty.yaml"], StringComparison.Ordinal);
        Assert.DoesNotContain("explicitly-empty.json", byFile.Keys);

        _folder.Delete("broken.yaml");
        _folder.Delete("unknown-field.json");
        _folder.Delete("unknown-type.json");
        _folder.Delete("empty.yaml");
        _folder.Write("no-name.yaml", "\"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\nname: static\ntype: STATIC");
        status = await source.WaitForAsync(s => s.Errors.Count == 0 && s.ResourceCount == 5, "the fixed folder");
        Assert.Contains("static", Names(Served(), TypeUrls.Cluster));
    }

    [Fact]
    public async Task Two_files_defining_the_same_resource_are_reported_naming_both()
    {
        _folder.WithHelloChain();
        await using var source = await StartAsync();
        await source.WhenLoaded.WaitAsync(FirstLoad);
        var good = Served();

        _folder.Write("z-copy.json", ResourceFolder.ClusterJson("hello"));
        var status = await source.WaitForAsync(s => s.Errors.Count > 0, "the duplicate");

        var error = Assert.Single(status.Errors);
        Assert.Equal("z-copy.json", error.File);
        Assert.Contains("Cluster 'hello'", error.Reason, StringComparison.Ordinal);
        Assert.Contains("'cluster.yml'", error.Reason, StringComparison.Ordinal);
        Assert.Contains("'z-copy.json'", error.Reason, StringComparison.Ordinal);
        Assert.Same(good, Served());
    }

    [Fact]
    public async Task Deleting_a_file_removes_its_resources_and_a_resource_may_move_between_files()
    {
        _folder.WithHelloChain();
        _folder.Write("extra.json", ResourceFolder.ClusterJson("extra").Replace("\"EDS\"", "\"STATIC\"", StringComparison.Ordinal));
        await using var source = await StartAsync();
        await source.WhenLoaded.WaitAsync(FirstLoad);
        Assert.Equal(["extra", "hello"], Names(Served(), TypeUrls.Cluster));

        _folder.Delete("extra.json");
        await source.WaitForAsync(s => s.ResourceCount == 4 && s.FileCount == 3, "extra.json gone");
        Assert.Equal(["hello"], Names(Served(), TypeUrls.Cluster));

        // The endpoints move from cluster.yml to their own file: one change, nothing dangles in between.
        var endpoints = Served().GetResources(TypeUrls.ClusterLoadAssignment)!.Sorted.Single();
        var moved = Path.Combine(_folder.Path, "endpoints.yaml");
        File.WriteAllText(moved + ".part", ResourceFolder.EndpointsYaml());
        _folder.Write("cluster.yml", "resources:\n" + string.Join('\n', ResourceFolder.ClusterWithEndpointsYaml().Split('\n').Skip(1).Take(6)));
        File.Move(moved + ".part", moved);
        var status = await source.WaitForAsync(s => s.FileCount == 4 && s.Errors.Count == 0, "the endpoints in their own file");
        Assert.Equal(4, status.ResourceCount);
        Assert.Equal(endpoints.Version, Served().GetResources(TypeUrls.ClusterLoadAssignment)!.Sorted.Single().Version);
    }

    [Fact]
    public async Task An_inconsistent_folder_keeps_the_last_good_snapshot_and_names_the_file_at_fault()
    {
        _folder.WithHelloChain();
        await using var source = await StartAsync();
        await source.WhenLoaded.WaitAsync(FirstLoad);
        var good = Served();

        _folder.Write("orphan.json", ResourceFolder.ClusterJson("orphan")); // EDS, but no endpoints anywhere
        var status = await source.WaitForAsync(s => s.Errors.Count > 0, "the dangling reference");

        var error = Assert.Single(status.Errors);
        Assert.Equal("orphan.json", error.File);
        Assert.Contains("orphan", error.Reason, StringComparison.Ordinal);
        Assert.Same(good, Served());
        Assert.Equal(4, status.ResourceCount);

        _folder.Write("orphan-endpoints.yaml", ResourceFolder.EndpointsYaml("orphan", 50060));
        await source.WaitForAsync(s => s.Errors.Count == 0 && s.ResourceCount == 6, "the completed folder");
        Assert.Equal(["hello", "orphan"], Names(Served(), TypeUrls.Cluster));
    }

    [Fact]
    public async Task A_folder_that_does_not_load_is_reported_and_loads_once_fixed()
    {
        Directory.Delete(_folder.Path);
        await using var source = await StartAsync(o => o.RescanInterval = TimeSpan.FromMilliseconds(200));
        var status = await source.WaitForAsync(s => s.Errors.Count > 0, "the missing folder");
        Assert.False(status.IsLoaded);
        Assert.Contains("does not exist", Assert.Single(status.Errors).Reason, StringComparison.Ordinal);
        Assert.False(source.WhenLoaded.IsCompleted);

        Directory.CreateDirectory(_folder.Path);
        _folder.Write("listener.yaml", ResourceFolder.ListenerYaml());
        _folder.Write("route.json", "{ \"@type\": ");
        status = await source.WaitForAsync(s => s.Errors.Any(e => e.File == "route.json"), "the broken route file");
        Assert.False(status.IsLoaded);
        Assert.False(_cache.TryGetSnapshot(Group, out _));

        _folder.Write("route.json", ResourceFolder.RouteJson());
        await source.WhenLoaded.WaitAsync(FirstLoad);
        Assert.Equal(2, Served().Count);
    }

    [Fact]
    public async Task Registered_on_the_server_every_node_sees_the_folder_and_health_follows_the_load()
    {
        _folder.Write("listener.yaml", ResourceFolder.ListenerYaml());
        _folder.Write("route.json", "{");
        await using var server = await LoopbackXdsServer.StartAsync(xds => xds.AddFileResources(o => o.Directory = _folder.Path));
        var source = server.Services.GetRequiredService<FileResourceSource>();
        Assert.Same(source, server.Services.GetRequiredKeyedService<FileResourceSource>(Group));
        var health = server.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();

        await source.WaitForAsync(s => s.Errors.Count > 0, "the broken route file");
        var report = await health.CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, report.Entries[$"xds-files:{Group}"].Status);

        _folder.Write("route.json", ResourceFolder.RouteJson());
        await source.WhenLoaded.WaitAsync(FirstLoad);
        report = await health.CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, report.Status);

        await using var client = XdsProtocolClient.Sotw(server.Address, "any-node-" + Guid.NewGuid().ToString("N")[..6]);
        await client.SendAsync(TypeUrls.Listener, ["hello"]);
        var lds = await client.NextAsync("the listener from the folder");
        Assert.Equal("hello", lds.Resources.Single().Unpack<Envoy.Config.Listener.V3.Listener>().Name);
    }

    [Fact]
    public void Options_are_checked_at_registration()
    {
        var services = new ServiceCollection();
        var xds = services.AddXdsServer();
        Assert.Throws<ArgumentException>(() => xds.AddFileResources(_ => { }));
        xds.AddFileResources(o => o.Directory = _folder.Path);
        Assert.Throws<InvalidOperationException>(() => xds.AddFileResources(o => o.Directory = _folder.Path));
        xds.AddFileResources(o => (o.Directory, o.Group) = (_folder.Path, "second"));
    }
}
