namespace XdsServer.Cache;

/// <summary>A reference from one resource to another by type URL and name, such as a Listener naming its
/// RouteConfiguration through RDS, or a Cluster naming its ClusterLoadAssignment through EDS.</summary>
/// <param name="TypeUrl">Type URL of the referenced resource.</param>
/// <param name="Name">Name of the referenced resource.</param>
/// <param name="Required">True when the referencing resource cannot work without the referenced one being
/// served by this control plane (RDS over ADS, EDS, SDS over ADS); false for a soft reference such as a
/// route naming a cluster.</param>
public readonly record struct ResourceReference(string TypeUrl, string Name, bool Required = true);
