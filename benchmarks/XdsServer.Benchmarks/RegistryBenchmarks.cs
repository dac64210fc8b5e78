using BenchmarkDotNet.Attributes;
using XdsServer.Discovery;

namespace XdsServer.Benchmarks;

/// <summary>
/// The service registry's cost of one change as the mesh grows: <see cref="Services"/> services, each with one
/// endpoint group of 10 endpoints and 10 workloads, then one endpoint's readiness flips (a new version of its group)
/// and a watching consumer takes the change. O(changed) means the same cost at 100 and at 10,000 services (up to
/// the log n of the immutable maps). The relist benchmark is the O(n) reference: the same flip delivered as a whole
/// relist of every group through <see cref="DiscoverySink.Replace"/>, which compares each object's version.
/// </summary>
public class RegistryBenchmarks
{
    private static readonly IReadOnlySet<string> Slices = new HashSet<string> { RegistryKinds.EndpointSlice };
    private ServiceRegistry _registry = null!;
    private DiscoverySink _sink = null!;
    private RegistryWatch _watch = null!;
    private EndpointGroup[] _groups = null!;
    private EndpointGroup[][] _flipped = null!;
    private int _turn;

    [Params(100, 1_000, 10_000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _registry = new ServiceRegistry();
        _sink = _registry.OpenSink("bench");
        var objects = new List<RegistryObject>();
        _groups = new EndpointGroup[Services];
        for (var s = 0; s < Services; s++)
        {
            var service = new ObjectKey(RegistryKinds.Service, "ns" + (s % 20), "svc" + s);
            objects.Add(new DiscoveredService { Key = service, ResourceVersion = "1", Hostname = $"svc{s}.ns{s % 20}.svc.cluster.local" });
            _groups[s] = Group(service, s, "1", notReady: -1);
            objects.Add(_groups[s]);
            for (var p = 0; p < 10; p++)
            {
                objects.Add(new Workload { Key = new ObjectKey(RegistryKinds.Pod, service.Namespace, $"svc{s}-{p}"), ResourceVersion = "1", Addresses = [Address(s, p)] });
            }
        }

        _sink.Apply(objects);
        _watch = _registry.Watch();
        // Two versions of one group to alternate between: endpoint 3 ready, then not.
        var middle = Services / 2;
        _flipped = [[Group(_groups[middle].Service, middle, "2", notReady: 3)], [Group(_groups[middle].Service, middle, "3", notReady: -1)]];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _watch.Dispose();
        _sink.Dispose();
    }

    [Benchmark(Baseline = true, Description = "one readiness flip: Apply + watch")]
    public int Flip()
    {
        _sink.Apply(_flipped[_turn++ & 1]);
        return _watch.NextAsync().GetAwaiter().GetResult().Changes.Count;
    }

    [Benchmark(Description = "the same flip as a relist of every group: Replace + watch")]
    public int FlipByRelist()
    {
        var middle = Services / 2;
        var groups = (EndpointGroup[])_groups.Clone();
        groups[middle] = _flipped[_turn++ & 1][0];
        _sink.Replace(Slices, groups);
        return _watch.NextAsync().GetAwaiter().GetResult().Changes.Count;
    }

    private static EndpointGroup Group(ObjectKey service, int s, string version, int notReady) => new()
    {
        Key = new ObjectKey(RegistryKinds.EndpointSlice, service.Namespace, service.Name + "-slice"),
        ResourceVersion = version,
        Service = service,
        Endpoints = [.. Enumerable.Range(0, 10).Select(p => new WorkloadEndpoint
        {
            Address = Address(s, p),
            Ports = new Dictionary<string, int> { ["http"] = 8080 },
            Ready = p != notReady,
        })],
    };

    private static string Address(int s, int p) => $"10.{s / 256 % 256}.{s % 256}.{p + 1}";
}
