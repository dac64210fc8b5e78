using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using MeshHost.Demo;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Cache;

namespace MeshHost.Tests.Golden;

/// <summary>One proxy of the golden set: the file it is written to and the node it connects as.</summary>
/// <param name="File">The golden file's name without <c>.json</c>, under <c>Golden/demo/</c>.</param>
/// <param name="Proxy">The proxy, as the host parses its node.</param>
public sealed record GoldenProxy(string File, Proxy Proxy)
{
    public override string ToString() => File;
}

/// <summary>
/// The demo mesh rendered with fixed ports (not live workloads), the proxies whose configuration is kept as golden
/// files, and the JSON those files hold. See <c>Golden/README.md</c>.
/// </summary>
public static class GoldenConfig
{
    /// <summary>The environment variable that makes the golden tests rewrite their files instead of comparing.</summary>
    public const string UpdateVariable = "UPDATE_GOLDEN";

    /// <summary>The command that rewrites every golden file.</summary>
    public const string UpdateCommand = "UPDATE_GOLDEN=1 dotnet test tests/MeshHost.Tests -c Release --filter Golden";

    /// <summary>
    /// The fixed container port of every demo workload: 9080 for bookinfo's, as in Istio's bookinfo sample, 9090 for
    /// the ServiceEntry's endpoint. (The live demo gives each its own loopback port; here each has its own address.)
    /// </summary>
    public static IReadOnlyDictionary<string, int> Ports { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["productpage-v1"] = 9080,
        ["details-v1"] = 9080,
        ["reviews-v1"] = 9080,
        ["reviews-v2"] = 9080,
        ["reviews-v3"] = 9080,
        ["ratings-v1"] = 9080,
        ["external-api"] = 9090,
    };

    /// <summary>
    /// The fixed address of every demo workload (the manifests' <c>${ip:&lt;workload&gt;}</c>): a pod address each,
    /// as a cluster would place them, so each sidecar serves only its own workload inbound; the ServiceEntry's
    /// endpoint is outside the cluster (TEST-NET-3).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Addresses { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["istio-ingressgateway"] = "10.244.0.2",
        ["productpage-v1"] = "10.244.0.11",
        ["details-v1"] = "10.244.0.12",
        ["reviews-v1"] = "10.244.0.13",
        ["reviews-v2"] = "10.244.0.14",
        ["reviews-v3"] = "10.244.0.15",
        ["ratings-v1"] = "10.244.0.16",
        ["external-api"] = "203.0.113.10",
    };

    /// <summary>The cluster domain the golden manifests are rendered with.</summary>
    public const string Domain = "cluster.local";

    /// <summary>The proxies whose whole configuration is kept, by golden file name.</summary>
    public static IReadOnlyList<GoldenProxy> Proxies { get; } =
    [
        Sidecar("productpage-v1", "productpage", "v1", "bookinfo-productpage"),
        Sidecar("reviews-v2", "reviews", "v2", "bookinfo-reviews"),
        // ratings-v1 is selected by the AuthorizationPolicy ratings-from-reviews (Demo/manifests/50-security.yaml).
        Sidecar("ratings-v1", "ratings", "v1", "bookinfo-ratings"),
        // A sidecar of a namespace the demo does not populate: a client only, at an address that no endpoint has,
        // so it has no inbound service; it sees bookinfo's services by their FQDN.
        new("default-sleep", MeshFixture.Proxy("10.244.1.7", "sleep-5f7c", "default",
            new Dictionary<string, string> { ["app"] = "sleep" }, serviceAccount: "sleep")),
        // The ingress gateway of Demo/manifests/40-gateway.yaml.
        new("istio-ingressgateway", MeshFixture.Proxy(Addresses["istio-ingressgateway"], "istio-ingressgateway", "istio-system",
            new Dictionary<string, string> { ["app"] = "istio-ingressgateway", ["istio"] = "ingressgateway" },
            type: "router", serviceAccount: "istio-ingressgateway-service-account")),
        // A proxyless gRPC client in bookinfo, as the demo's clients connect (node metadata GENERATOR: grpc), at an
        // address of its own.
        new("grpc-client", MeshFixture.Proxy("10.244.0.30", "grpc-client", "bookinfo", generator: "grpc")),
    ];

    /// <summary>The resource types a golden file holds, in the order it lists them, with the key it uses.</summary>
    private static readonly (string TypeUrl, string Key)[] Types =
    [
        (TypeUrls.Cluster, "clusters"),
        (TypeUrls.ClusterLoadAssignment, "endpoints"),
        (TypeUrls.Listener, "listeners"),
        (TypeUrls.RouteConfiguration, "routes"),
    ];

    private static GoldenProxy Sidecar(string pod, string app, string version, string serviceAccount) =>
        new(pod, MeshFixture.Proxy(Addresses[pod], pod, "bookinfo",
            new Dictionary<string, string> { ["app"] = app, ["version"] = version }, serviceAccount: serviceAccount));

    /// <summary>The demo's manifests rendered with <see cref="Ports"/> and <see cref="Addresses"/>, loaded through the manifest-folder source.</summary>
    public static async Task<PushContext> LoadDemoAsync()
    {
        var folder = Directory.CreateTempSubdirectory("meshhost-golden-");
        try
        {
            foreach (var (name, template) in DemoMesh.Templates())
            {
                await File.WriteAllTextAsync(Path.Combine(folder.FullName, name), DemoMesh.Render(template, Domain, Ports, Addresses));
            }
            return await DemoContext.LoadAsync(folder.FullName, new MeshOptions { Domain = Domain });
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A snapshot as a golden file holds it: the proxy's node id, then its resources grouped by type (clusters,
    /// endpoints, listeners, routes), each group sorted by name, each resource in proto3 JSON, indented. Versions
    /// are left out: they are digests of the content, which the file already shows.
    /// </summary>
    /// <exception cref="InvalidOperationException">The snapshot holds a type a golden file does not list.</exception>
    public static string Format(Proxy proxy, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(snapshot);
        var unexpected = snapshot.ResourceSets.Where(s => s.Count > 0).Select(s => s.TypeUrl).Except(Types.Select(t => t.TypeUrl)).ToList();
        if (unexpected.Count > 0)
        {
            throw new InvalidOperationException($"the snapshot of {proxy.NodeId} holds {string.Join(", ", unexpected)}, which golden files do not list");
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            NewLine = "\n",
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            json.WriteStartObject();
            json.WriteString("node", proxy.NodeId);
            foreach (var (typeUrl, key) in Types)
            {
                json.WriteStartArray(key);
                foreach (var resource in (IEnumerable<XdsResource>?)snapshot.GetResources(typeUrl)?.Sorted ?? [])
                {
                    using var document = JsonDocument.Parse(FormatMessage(resource.Message));
                    document.WriteTo(json);
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length) + "\n";
    }

    /// <summary>One message in proto3 JSON, every <c>Any</c> in it resolved through the Envoy API's types.</summary>
    /// <exception cref="InvalidOperationException">An <c>Any</c> holds a type the registry does not know.</exception>
    public static string FormatMessage(IMessage message) => XdsServer.EnvoyApiTypes.Formatter.Format(message);

    /// <summary>The golden file of <paramref name="proxy"/>.</summary>
    public static string PathOf(GoldenProxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        return Path.Combine(ProjectDirectory(), "Golden", "demo", proxy.File + ".json");
    }

    /// <summary>The first lines where <paramref name="expected"/> and <paramref name="actual"/> differ, with a
    /// little context; empty when they are equal.</summary>
    public static string Diff(string expected, string actual, int maxLines = 12)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var want = expected.ReplaceLineEndings("\n").Split('\n');
        var have = actual.ReplaceLineEndings("\n").Split('\n');
        var first = 0;
        while (first < want.Length && first < have.Length && want[first] == have[first])
        {
            first++;
        }
        if (first == want.Length && first == have.Length)
        {
            return string.Empty;
        }
        // Skip the common tail, so an insertion shows as the lines inserted.
        var wantEnd = want.Length;
        var haveEnd = have.Length;
        while (wantEnd > first && haveEnd > first && want[wantEnd - 1] == have[haveEnd - 1])
        {
            wantEnd--;
            haveEnd--;
        }
        var text = new StringBuilder();
        text.Append("first difference at line ").Append(first + 1).Append('\n');
        for (var i = Math.Max(0, first - 2); i < first; i++)
        {
            text.Append("  ").Append(want[i]).Append('\n');
        }
        foreach (var line in want[first..Math.Min(wantEnd, first + maxLines)])
        {
            text.Append("- ").Append(line).Append('\n');
        }
        if (wantEnd - first > maxLines)
        {
            text.Append("- ... (").Append(wantEnd - first - maxLines).Append(" more lines)\n");
        }
        foreach (var line in have[first..Math.Min(haveEnd, first + maxLines)])
        {
            text.Append("+ ").Append(line).Append('\n');
        }
        if (haveEnd - first > maxLines)
        {
            text.Append("+ ... (").Append(haveEnd - first - maxLines).Append(" more lines)\n");
        }
        return text.ToString();
    }

    /// <summary>The source folder of this test project: up from the test binaries to the folder holding
    /// <c>MeshHost.Tests.csproj</c> (the build may map source paths, so the caller's file path is not used).</summary>
    private static string ProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MeshHost.Tests.csproj")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no folder above {AppContext.BaseDirectory} holds MeshHost.Tests.csproj: run the tests from their build output");
    }
}
