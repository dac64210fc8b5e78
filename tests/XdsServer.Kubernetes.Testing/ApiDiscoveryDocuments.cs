using System.Text.Json.Nodes;

namespace XdsServer.Kubernetes.Testing;

/// <summary>
/// The legacy (non-aggregated) API discovery documents a client such as kubectl reads before it lists anything:
/// <c>/api</c>, <c>/apis</c>, <c>/apis/{group}</c>, <c>/api/v1</c>, <c>/apis/{group}/{version}</c> and
/// <c>/version</c>, describing exactly the resources the <see cref="TestApiServer"/> serves.
/// </summary>
internal static class ApiDiscoveryDocuments
{
    public static JsonObject Versions(Uri address) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
        {
            ["clientCIDR"] = "0.0.0.0/0",
            ["serverAddress"] = $"{address.Host}:{address.Port}",
        }),
    };

    public static JsonObject GroupList(IEnumerable<ApiResource> resources) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray([.. resources.Where(r => r.Group.Length > 0).Select(r => r.Group).Distinct()
            .Select(g => (JsonNode)Group(resources, g)!)]),
    };

    public static JsonObject? Group(IEnumerable<ApiResource> resources, string group)
    {
        var versions = resources.Where(r => r.Group == group).Select(r => r.Version).Distinct().ToList();
        if (versions.Count == 0)
        {
            return null;
        }

        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = group,
            ["versions"] = new JsonArray([.. versions.Select(v => (JsonNode)GroupVersion(group, v))]),
            ["preferredVersion"] = GroupVersion(group, versions[0]),
        };
    }

    public static JsonObject? ResourceList(IEnumerable<ApiResource> resources, string group, string version)
    {
        var served = resources.Where(r => r.Group == group && r.Version == version).ToList();
        if (served.Count == 0)
        {
            return null;
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = served[0].GroupVersion,
            ["resources"] = new JsonArray([.. served.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Kind.ToLowerInvariant(),
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("get", "list", "watch"),
            })]),
        };
    }

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-xdsserver-test",
        ["platform"] = "linux/amd64",
    };

    private static JsonObject GroupVersion(string group, string version) => new()
    {
        ["groupVersion"] = $"{group}/{version}",
        ["version"] = version,
    };
}
