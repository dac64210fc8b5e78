using Envoy.Config.Core.V3;

namespace XdsServer.Cache;

/// <summary>A one-off fetch (REST-JSON <c>POST /v3/discovery:&lt;type&gt;</c>).</summary>
/// <param name="Node">The asking node.</param>
/// <param name="TypeUrl">The type URL asked for.</param>
/// <param name="ResourceNames">The names asked for; empty asks for every resource.</param>
/// <param name="VersionInfo">The version the client has; equal to the current one means "not modified".</param>
public sealed record FetchRequest(Node Node, string TypeUrl, IReadOnlyList<string> ResourceNames, string VersionInfo);

/// <summary>How a fetch was answered.</summary>
public enum FetchStatus
{
    /// <summary>Resources returned at a version the client does not have.</summary>
    Ok,

    /// <summary>The client's version is current (REST answers 304).</summary>
    NotModified,

    /// <summary>Nothing is held for this node and type yet.</summary>
    NotFound,
}

/// <summary>The answer to a <see cref="FetchRequest"/>.</summary>
/// <param name="Status">How the fetch was answered.</param>
/// <param name="Version">The current version (empty when <see cref="FetchStatus.NotFound"/>).</param>
/// <param name="Resources">The resources (for <see cref="FetchStatus.Ok"/>), sorted by name.</param>
public sealed record FetchResult(FetchStatus Status, string Version, IReadOnlyList<XdsResource> Resources)
{
    /// <summary>The answer when nothing is held.</summary>
    public static FetchResult NotFound { get; } = new(FetchStatus.NotFound, string.Empty, []);

    internal static FetchResult From(ResourceSet? set, FetchRequest request)
    {
        if (set is null)
        {
            return NotFound;
        }

        if (request.VersionInfo == set.Version)
        {
            return new FetchResult(FetchStatus.NotModified, set.Version, []);
        }

        if (request.ResourceNames.Count == 0 || request.ResourceNames.Contains(Subscription.WildcardName))
        {
            return new FetchResult(FetchStatus.Ok, set.Version, set.Sorted);
        }

        var resources = new List<XdsResource>();
        foreach (var name in request.ResourceNames.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (set.TryGet(name, out var resource))
            {
                resources.Add(resource);
            }
        }

        return new FetchResult(FetchStatus.Ok, set.Version, resources);
    }
}
