// Quickstart: build a snapshot for a small service graph, validate it, print what it holds, then derive
// the next snapshot in O(changed) and show what a delta client would receive.
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouterFilter = Envoy.Extensions.Filters.Http.Router.V3.Router;

var ads = new ConfigSource { Ads = new AggregatedConfigSource() };

// Two versions of a "hello" service, split 80/20, reached by gRPC clients through xds:///hello.
var snapshot = Snapshot.CreateBuilder()
    .Add(Listener("hello", "hello-routes"))
    .Add(Routes("hello-routes", ("hello-v1", 80), ("hello-v2", 20)))
    .Add(Cluster("hello-v1"), Cluster("hello-v2"))
    .Add(Endpoints("hello-v1", 50051, 50052), Endpoints("hello-v2", 50061))
    .Build();

Console.WriteLine("Snapshot for node group 'demo':");
Print(snapshot);
var result = snapshot.Validate();
Console.WriteLine($"Validation: {result}");
if (!result.IsValid)
{
    return 1;
}

var cache = new SnapshotCache();
cache.SetSnapshot("demo", snapshot);

// A delta client subscribed to every endpoint gets the current set...
var state = ClientState.ForDelta(EnvoyResourceTypes.ClusterLoadAssignment).ApplyDeltaRequest(["*"], []);
var node = new Node { Id = "demo", Cluster = "quickstart" };
state = Watch(cache, node, state, "first delta response");

// ...then only what changes: one endpoint of hello-v2 moves. Every other resource is shared, not rebuilt.
var next = snapshot.ToBuilder().Set(Endpoints("hello-v2", 50062)).Build();
cache.SetSnapshot("demo", next);
Watch(cache, node, state, "after one endpoint moved");
Console.WriteLine($"Listener set reused: {ReferenceEquals(snapshot.GetResources(TypeUrls.Listener), next.GetResources(TypeUrls.Listener))}");

// An inconsistent snapshot (a cluster whose endpoints are missing) is refused; the last good one stays.
var broken = next.ToBuilder().Add(Cluster("orphan")).Build();
try
{
    cache.SetSnapshot("demo", broken);
}
catch (InvalidSnapshotException e)
{
    Console.WriteLine($"Refused: {e.Message}");
}

return 0;

ClientState Watch(SnapshotCache c, Node n, ClientState s, string label)
{
    WatchResponse? response = null;
    using (c.CreateWatch(new WatchRequest(n, s), r => response = r))
    {
        // Answered synchronously when the cache already holds something new for this client.
    }

    if (response is null)
    {
        Console.WriteLine($"{label}: nothing to send");
        return s;
    }

    Console.WriteLine($"{label}: system version {response.Version}, resources [{string.Join(", ", response.Resources)}], removed [{string.Join(", ", response.RemovedNames)}]");
    return s.ApplyResponse(response);
}

static void Print(Snapshot s)
{
    foreach (var set in s.ResourceSets)
    {
        Console.WriteLine($"  {set.Type.ShortName,-22} version {set.Version}  ({set.Count})");
        foreach (var resource in set.Sorted)
        {
            var refs = resource.References.Count == 0 ? "" : "  -> " + string.Join(", ", resource.References.Select(r => r.Name));
            Console.WriteLine($"    {resource.Name,-20} v{resource.Version}  {resource.Bytes.Length,4} bytes{refs}");
        }
    }
}

ListenerProto Listener(string name, string routeName)
{
    var hcm = new HttpConnectionManager
    {
        StatPrefix = name,
        Rds = new Rds { RouteConfigName = routeName, ConfigSource = ads },
    };
    hcm.HttpFilters.Add(new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new RouterFilter()) });
    return new ListenerProto { Name = name, ApiListener = new Envoy.Config.Listener.V3.ApiListener { ApiListener_ = Any.Pack(hcm) } };
}

static RouteConfiguration Routes(string name, params (string Cluster, uint Weight)[] split)
{
    var weighted = new WeightedCluster();
    foreach (var (cluster, weight) in split)
    {
        weighted.Clusters.Add(new WeightedCluster.Types.ClusterWeight { Name = cluster, Weight = weight });
    }

    var host = new VirtualHost { Name = "hello", Domains = { "*" } };
    host.Routes.Add(new Route { Match = new RouteMatch { Prefix = "" }, Route_ = new RouteAction { WeightedClusters = weighted } });
    return new RouteConfiguration { Name = name, VirtualHosts = { host } };
}

ClusterProto Cluster(string name) => new()
{
    Name = name,
    Type = ClusterProto.Types.DiscoveryType.Eds,
    EdsClusterConfig = new ClusterProto.Types.EdsClusterConfig { EdsConfig = ads },
};

static ClusterLoadAssignment Endpoints(string cluster, params uint[] ports)
{
    // gRPC clients ignore a locality without a weight.
    var locality = new LocalityLbEndpoints { Locality = new Locality { Zone = "z1" }, LoadBalancingWeight = 1 };
    foreach (var port in ports)
    {
        locality.LbEndpoints.Add(new LbEndpoint
        {
            Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = port } } },
        });
    }

    return new ClusterLoadAssignment { ClusterName = cluster, Endpoints = { locality } };
}
