using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;

namespace XdsServer.Benchmarks;

/// <summary>
/// Realistic Envoy resources for the benchmarks: EDS clusters and their load assignments (two zones of two
/// endpoints each), named <c>service-000042</c>. A load assignment's <c>revision</c> moves its endpoints to
/// other addresses, as a rollout does; equal (index, revision) always give equal content.
/// </summary>
internal static class ResourceFactory
{
    /// <summary>The node id (and so, with the default node hash, the snapshot group) every benchmark uses.</summary>
    public const string GroupKey = "bench-node";

    private static readonly string[] Zones = ["us-east-1a", "us-east-1b"];

    public static Node Node() => new() { Id = GroupKey, Cluster = "bench" };

    public static string ServiceName(int index) => $"service-{index:D6}";

    public static ClusterLoadAssignment LoadAssignment(int index, int revision)
    {
        var assignment = new ClusterLoadAssignment { ClusterName = ServiceName(index) };
        for (var zone = 0; zone < Zones.Length; zone++)
        {
            var locality = new LocalityLbEndpoints
            {
                Locality = new Locality { Region = "us-east-1", Zone = Zones[zone] },
                LoadBalancingWeight = 100,
            };
            for (var e = 0; e < 2; e++)
            {
                // 10.<index>.<host>: a new revision is a new set of pod addresses.
                var host = 1 + ((zone * 2) + e + (revision * 4)) % 250;
                locality.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint
                    {
                        Address = new Address
                        {
                            SocketAddress = new SocketAddress
                            {
                                Address = $"10.{(index / 256) % 256}.{index % 256}.{host}",
                                PortValue = 8080,
                            },
                        },
                    },
                    HealthStatus = HealthStatus.Healthy,
                    LoadBalancingWeight = 1,
                });
            }

            assignment.Endpoints.Add(locality);
        }

        return assignment;
    }

    public static ClusterLoadAssignment[] LoadAssignments(int count, int revision)
    {
        var assignments = new ClusterLoadAssignment[count];
        for (var i = 0; i < count; i++)
        {
            assignments[i] = LoadAssignment(i, revision);
        }

        return assignments;
    }

    /// <summary>An EDS cluster whose endpoints come over ADS (so a snapshot must carry its load assignment).</summary>
    public static Cluster EdsCluster(int index) => new()
    {
        Name = ServiceName(index),
        Type = Cluster.Types.DiscoveryType.Eds,
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig
        {
            EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 },
        },
    };

    /// <summary>The indices of <paramref name="percent"/>% of <paramref name="count"/> resources (at least one),
    /// spread evenly over the name space.</summary>
    public static int[] ChangedIndices(int count, double percent)
    {
        var changed = Math.Max(1, (int)Math.Round(count * percent / 100));
        var indices = new int[changed];
        for (var i = 0; i < changed; i++)
        {
            indices[i] = (int)((long)i * count / changed);
        }

        return indices;
    }

    /// <summary>New message objects, at the next revision, for <paramref name="percent"/>% of the load assignments.</summary>
    public static ClusterLoadAssignment[] ChangedLoadAssignments(int count, double percent, int revision = 1) =>
        [.. ChangedIndices(count, percent).Select(i => LoadAssignment(i, revision))];

    /// <summary><paramref name="snapshot"/> with <paramref name="percent"/>% of its <paramref name="count"/> load
    /// assignments moved to revision 1 (new message objects, only those <c>Set</c>).</summary>
    public static Snapshot WithChangedLoadAssignments(Snapshot snapshot, int count, double percent)
    {
        var builder = snapshot.ToBuilder();
        foreach (var message in ChangedLoadAssignments(count, percent))
        {
            builder.Set(message);
        }

        return builder.Build();
    }

    /// <summary>A snapshot holding exactly <paramref name="assignments"/>: valid on its own (no references).</summary>
    public static Snapshot EdsSnapshot(IEnumerable<ClusterLoadAssignment> assignments) =>
        Snapshot.CreateBuilder().Add(assignments).Build();

    public static ResourceSet LoadAssignmentsOf(Snapshot snapshot) =>
        snapshot.GetResources(TypeUrls.ClusterLoadAssignment)
        ?? throw new InvalidOperationException("The snapshot carries no ClusterLoadAssignment.");
}
