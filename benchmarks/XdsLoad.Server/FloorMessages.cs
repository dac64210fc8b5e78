using Envoy.Service.Discovery.V3;
using XdsServer.Cache;

namespace XdsLoad.Server;

/// <summary>
/// The prebuilt responses of one generation for the floor service: per type the full current state (the answer
/// to a stream's first request of that type) and, for the types the generation changed, the update message that
/// every open stream receives. Built from the same <see cref="Snapshot"/> the real server would hold, so resources
/// are byte-identical (<see cref="XdsResource.Packed"/> / <see cref="XdsResource.DeltaResource"/>) and versions equal.
/// </summary>
internal sealed class FloorMessages
{
    private FloorMessages(int generation, Dictionary<string, DiscoveryResponse> sotwFull, Dictionary<string, DeltaDiscoveryResponse> deltaFull,
        Dictionary<string, DiscoveryResponse> sotwUpdates, Dictionary<string, DeltaDiscoveryResponse> deltaUpdates)
    {
        Generation = generation;
        SotwFull = sotwFull;
        DeltaFull = deltaFull;
        SotwUpdates = sotwUpdates;
        DeltaUpdates = deltaUpdates;
    }

    public int Generation { get; }

    public IReadOnlyDictionary<string, DiscoveryResponse> SotwFull { get; }

    public IReadOnlyDictionary<string, DeltaDiscoveryResponse> DeltaFull { get; }

    public IReadOnlyDictionary<string, DiscoveryResponse> SotwUpdates { get; }

    public IReadOnlyDictionary<string, DeltaDiscoveryResponse> DeltaUpdates { get; }

    /// <summary>Messages for <paramref name="current"/>; <paramref name="previous"/> (null at setup) gives the
    /// updates. Full-state messages of unchanged types are reused from <paramref name="previousMessages"/>.</summary>
    public static FloorMessages Build(int generation, Snapshot current, Snapshot? previous, FloorMessages? previousMessages)
    {
        var sotwFull = new Dictionary<string, DiscoveryResponse>(StringComparer.Ordinal);
        var deltaFull = new Dictionary<string, DeltaDiscoveryResponse>(StringComparer.Ordinal);
        var sotwUpdates = new Dictionary<string, DiscoveryResponse>(StringComparer.Ordinal);
        var deltaUpdates = new Dictionary<string, DeltaDiscoveryResponse>(StringComparer.Ordinal);
        foreach (var set in current.ResourceSets)
        {
            var before = previous?.GetResources(set.TypeUrl);
            if (before is not null && ReferenceEquals(before, set) && previousMessages is not null
                && previousMessages.SotwFull.TryGetValue(set.TypeUrl, out var keptSotw)
                && previousMessages.DeltaFull.TryGetValue(set.TypeUrl, out var keptDelta))
            {
                sotwFull[set.TypeUrl] = keptSotw;
                deltaFull[set.TypeUrl] = keptDelta;
                continue;
            }

            // Nonces only need to be unique per response on a stream; each prebuilt message goes once to a stream.
            var full = new DiscoveryResponse { VersionInfo = set.Version, TypeUrl = set.TypeUrl, Nonce = $"f{generation}" };
            var deltaAll = new DeltaDiscoveryResponse { SystemVersionInfo = set.Version, TypeUrl = set.TypeUrl, Nonce = $"f{generation}" };
            foreach (var resource in set.Sorted)
            {
                full.Resources.Add(resource.Packed);
                deltaAll.Resources.Add(resource.DeltaResource);
            }

            sotwFull[set.TypeUrl] = full;
            deltaFull[set.TypeUrl] = deltaAll;
            if (before is null || before.Version == set.Version)
            {
                continue;
            }

            // What the real server sends an up-to-date subscriber: SotW Listener/Cluster carry the full state,
            // the other types (and every delta response) only what changed.
            var diff = set.DiffFrom(before);
            var changedNames = diff.Added.Concat(diff.Updated).Order(StringComparer.Ordinal);
            var sotw = new DiscoveryResponse { VersionInfo = set.Version, TypeUrl = set.TypeUrl, Nonce = $"u{generation}" };
            var delta = new DeltaDiscoveryResponse { SystemVersionInfo = set.Version, TypeUrl = set.TypeUrl, Nonce = $"u{generation}" };
            foreach (var name in changedNames)
            {
                set.TryGet(name, out var resource);
                delta.Resources.Add(resource!.DeltaResource);
                if (!set.Type.FullStateInSotw)
                {
                    sotw.Resources.Add(resource.Packed);
                }
            }

            if (set.Type.FullStateInSotw)
            {
                sotw.Resources.Add(full.Resources);
            }

            delta.RemovedResources.Add(diff.Removed);
            sotwUpdates[set.TypeUrl] = sotw;
            deltaUpdates[set.TypeUrl] = delta;
        }

        return new FloorMessages(generation, sotwFull, deltaFull, sotwUpdates, deltaUpdates);
    }
}
