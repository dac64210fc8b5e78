namespace XdsServer.Discovery;

/// <summary>
/// Names one object of the service registry: its kind (a Kubernetes-style kind such as <c>Service</c>, or a
/// group-qualified one such as <c>networking.istio.io/VirtualService</c>), namespace and name. Ordinal comparison.
/// </summary>
/// <param name="Kind">The kind; see <see cref="RegistryKinds"/> for the ones the registry knows.</param>
/// <param name="Namespace">The namespace; empty for cluster-scoped objects.</param>
/// <param name="Name">The name.</param>
public sealed record ObjectKey(string Kind, string Namespace, string Name)
{
    /// <inheritdoc />
    public override string ToString() => Namespace.Length == 0 ? $"{Kind}/{Name}" : $"{Kind}/{Namespace}/{Name}";
}

/// <summary>The kinds the registry's typed collections hold; any other kind is a <see cref="ConfigObject"/>.</summary>
public static class RegistryKinds
{
    /// <summary>A service (<see cref="DiscoveredService"/>) from a Kubernetes Service.</summary>
    public const string Service = "Service";

    /// <summary>A service (<see cref="DiscoveredService"/>) from an Istio ServiceEntry.</summary>
    public const string ServiceEntry = "networking.istio.io/ServiceEntry";

    /// <summary>A group of a service's endpoints (<see cref="EndpointGroup"/>) from a Kubernetes EndpointSlice.</summary>
    public const string EndpointSlice = "discovery.k8s.io/EndpointSlice";

    /// <summary>A workload (<see cref="Workload"/>) from a Kubernetes Pod.</summary>
    public const string Pod = "Pod";

    /// <summary>A workload (<see cref="Workload"/>) from an Istio WorkloadEntry.</summary>
    public const string WorkloadEntry = "networking.istio.io/WorkloadEntry";

    /// <summary>A Kubernetes Node (a cluster-scoped <see cref="ConfigObject"/>), whose labels give the locality of
    /// what runs on it (<see cref="RegistrySnapshot.LocalityOf(WorkloadEndpoint)"/>).</summary>
    public const string Node = "Node";
}
