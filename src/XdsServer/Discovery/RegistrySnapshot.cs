using System.Collections.Immutable;

namespace XdsServer.Discovery;

/// <summary>
/// The registry at one moment: immutable, so a consumer may read it at leisure while sources go on writing. Updates
/// share structure with the previous snapshot, so taking one costs nothing and a change costs O(log n).
/// </summary>
public sealed class RegistrySnapshot
{
    internal static readonly RegistrySnapshot Empty = new(
        ImmutableDictionary.Create<ObjectKey, RegistryObject>(),
        ImmutableDictionary.Create<string, ImmutableHashSet<ObjectKey>>(StringComparer.Ordinal),
        ImmutableDictionary.Create<ObjectKey, ImmutableHashSet<ObjectKey>>(),
        ImmutableDictionary.Create<string, ImmutableHashSet<ObjectKey>>(StringComparer.Ordinal),
        0);

    internal RegistrySnapshot(
        ImmutableDictionary<ObjectKey, RegistryObject> objects,
        ImmutableDictionary<string, ImmutableHashSet<ObjectKey>> byKind,
        ImmutableDictionary<ObjectKey, ImmutableHashSet<ObjectKey>> endpointGroups,
        ImmutableDictionary<string, ImmutableHashSet<ObjectKey>> workloadsByAddress,
        long generation)
    {
        Objects = objects;
        ByKind = byKind;
        EndpointGroups = endpointGroups;
        WorkloadsByAddress = workloadsByAddress;
        Generation = generation;
    }

    /// <summary>Rises by one with every change applied.</summary>
    public long Generation { get; }

    /// <summary>How many objects are held.</summary>
    public int Count => Objects.Count;

    internal ImmutableDictionary<ObjectKey, RegistryObject> Objects { get; }

    internal ImmutableDictionary<string, ImmutableHashSet<ObjectKey>> ByKind { get; }

    internal ImmutableDictionary<ObjectKey, ImmutableHashSet<ObjectKey>> EndpointGroups { get; }

    internal ImmutableDictionary<string, ImmutableHashSet<ObjectKey>> WorkloadsByAddress { get; }

    /// <summary>The object named <paramref name="key"/>, or null.</summary>
    public RegistryObject? Get(ObjectKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Objects.GetValueOrDefault(key);
    }

    /// <summary>The object named <paramref name="key"/> when it is a <typeparamref name="T"/>, or null.</summary>
    public T? Get<T>(ObjectKey key)
        where T : RegistryObject => Get(key) as T;

    /// <summary>Every object of <paramref name="kind"/> (see <see cref="RegistryKinds"/>), in no particular order.</summary>
    public IEnumerable<RegistryObject> OfKind(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return ByKind.TryGetValue(kind, out var keys) ? keys.Select(k => Objects[k]) : [];
    }

    /// <summary>Every service (Kubernetes Services and ServiceEntries).</summary>
    public IEnumerable<DiscoveredService> Services =>
        OfKind(RegistryKinds.Service).Concat(OfKind(RegistryKinds.ServiceEntry)).Cast<DiscoveredService>();

    /// <summary>The endpoint groups of a service (its EndpointSlices).</summary>
    public IEnumerable<EndpointGroup> EndpointGroupsOf(ObjectKey service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return EndpointGroups.TryGetValue(service, out var keys) ? keys.Select(k => (EndpointGroup)Objects[k]) : [];
    }

    /// <summary>Every endpoint of a service: the union of its groups.</summary>
    public IEnumerable<WorkloadEndpoint> EndpointsOf(ObjectKey service) => EndpointGroupsOf(service).SelectMany(g => g.Endpoints);

    /// <summary>
    /// Where an endpoint runs, as Envoy's locality: region and zone from the labels of its node
    /// (<c>topology.kubernetes.io/region</c>, <c>topology.kubernetes.io/zone</c>; <c>topology.istio.io/subzone</c>)
    /// when the registry holds that Node, else what the endpoint itself says (an EndpointSlice's zone, a
    /// WorkloadEntry's locality). Read at the time of asking, so a relabelled node is seen without re-reading its
    /// endpoints.
    /// </summary>
    /// <param name="endpoint">The endpoint.</param>
    /// <returns>The locality; <see cref="Locality.None"/> parts are empty strings.</returns>
    public Locality LocalityOf(WorkloadEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var own = endpoint.Locality;
        if (endpoint.NodeName is not { Length: > 0 } nodeName
            || Get(new ObjectKey(RegistryKinds.Node, string.Empty, nodeName)) is not { } node)
        {
            return own;
        }

        static string Pick(IReadOnlyDictionary<string, string> labels, string key, string fallback) =>
            labels.TryGetValue(key, out var value) && value.Length > 0 ? value : fallback;
        return new Locality(
            Pick(node.Labels, "topology.kubernetes.io/region", own.Region),
            Pick(node.Labels, "topology.kubernetes.io/zone", own.Zone),
            Pick(node.Labels, "topology.istio.io/subzone", own.Subzone));
    }

    /// <summary>The workloads (pods, WorkloadEntries) with <paramref name="address"/> among their addresses.</summary>
    public IEnumerable<Workload> WorkloadsAt(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return WorkloadsByAddress.TryGetValue(address, out var keys) ? keys.Select(k => (Workload)Objects[k]) : [];
    }
}
