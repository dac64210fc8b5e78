using System.Collections.Frozen;

namespace XdsServer.Cache;

/// <summary>
/// An immutable, versioned view of every resource one group of nodes should see: one
/// <see cref="ResourceSet"/> per type. Build one with <see cref="CreateBuilder"/>, or derive the next from
/// this one with <see cref="ToBuilder"/> so that unchanged types and resources are shared.
/// </summary>
public sealed class Snapshot
{
    private readonly FrozenDictionary<string, ResourceSet> _sets;

    internal Snapshot(ResourceTypeRegistry registry, IEnumerable<ResourceSet> sets)
    {
        Registry = registry;
        _sets = sets.ToFrozenDictionary(s => s.TypeUrl, StringComparer.Ordinal);
        ResourceSets = [.. _sets.Values.OrderBy(s => s.Type.AdsOrder).ThenBy(s => s.TypeUrl, StringComparer.Ordinal)];
    }

    /// <summary>Starts an empty snapshot.</summary>
    /// <param name="registry">The resource types it may hold; <see cref="ResourceTypeRegistry.Default"/> when null.</param>
    public static SnapshotBuilder CreateBuilder(ResourceTypeRegistry? registry = null) =>
        new(new Snapshot(registry ?? ResourceTypeRegistry.Default, []));

    /// <summary>The registry of the types this snapshot may hold.</summary>
    public ResourceTypeRegistry Registry { get; }

    /// <summary>The resource sets this snapshot carries, in ADS order. A type that is absent is not
    /// served by this snapshot (its watches wait); a type present with no resources is served as empty.</summary>
    public IReadOnlyList<ResourceSet> ResourceSets { get; }

    /// <summary>Total number of resources.</summary>
    public int Count => ResourceSets.Sum(s => s.Count);

    /// <summary>The resources of one type, or null when the snapshot does not carry that type.</summary>
    public ResourceSet? GetResources(string typeUrl) => _sets.GetValueOrDefault(typeUrl);

    /// <summary>The version of one type, or the empty string when the snapshot does not carry that type.</summary>
    public string GetVersion(string typeUrl) => GetResources(typeUrl)?.Version ?? string.Empty;

    /// <summary>Starts a builder from this snapshot.</summary>
    public SnapshotBuilder ToBuilder() => new(this);

    /// <summary>Checks that every required reference between resources resolves: each RouteConfiguration a
    /// Listener names through RDS over ADS, each ClusterLoadAssignment an EDS Cluster names, each
    /// RouteConfiguration a ScopedRouteConfiguration names, each ExtensionConfig served over ADS, and (when
    /// the snapshot carries secrets) each Secret named through SDS over ADS. Reports every problem at once.</summary>
    public SnapshotValidationResult Validate() => SnapshotValidator.Validate(this, null);

    /// <inheritdoc />
    public override string ToString() =>
        string.Join(", ", ResourceSets.Select(s => $"{s.Type.ShortName} x{s.Count} v{s.Version}"));
}
