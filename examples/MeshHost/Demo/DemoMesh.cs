using System.Globalization;
using System.Text.RegularExpressions;

namespace MeshHost.Demo;

/// <summary>
/// The embedded demo mesh: a bookinfo-like set of services whose workloads are real in-process servers on loopback,
/// described by Kubernetes and Istio manifests written to a folder the host then serves like any manifest folder.
/// </summary>
/// <remarks>
/// The manifests are the embedded templates under <c>Demo/manifests/</c> (read them: they are written as a
/// tutorial), with each workload's port and the cluster domain filled in. Every workload is a
/// <see cref="DemoWorkload"/> answering <c>xds.test.Echo/Call</c> with its name.
/// </remarks>
public sealed partial class DemoMesh : IAsyncDisposable
{
    private const string ResourcePrefix = "MeshHost.Demo.manifests.";

    /// <summary>Where every live workload runs.</summary>
    private const string Loopback = "127.0.0.1";

    /// <summary>The names of the demo's workloads: the Pods of <c>10-bookinfo.yaml</c> and the endpoint of the
    /// ServiceEntry in <c>20-external.yaml</c>.</summary>
    public static IReadOnlyList<string> WorkloadNames { get; } =
        ["productpage-v1", "details-v1", "reviews-v1", "reviews-v2", "reviews-v3", "ratings-v1", "external-api"];

    private DemoMesh(string manifestsDirectory, IReadOnlyList<DemoWorkload> workloads)
    {
        ManifestsDirectory = manifestsDirectory;
        Workloads = workloads;
    }

    /// <summary>The folder holding the demo's manifests (with the workloads' real loopback ports).</summary>
    public string ManifestsDirectory { get; }

    /// <summary>The running workloads, in the order of <see cref="WorkloadNames"/>.</summary>
    public IReadOnlyList<DemoWorkload> Workloads { get; }

    /// <summary>The workload called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">There is none.</exception>
    public DemoWorkload Workload(string name) =>
        Workloads.FirstOrDefault(w => w.Name == name) ?? throw new KeyNotFoundException($"the demo has no workload called \"{name}\"");

    /// <summary>Starts the demo's workloads and writes its manifests.</summary>
    /// <param name="domain">The cluster domain the manifests' services live in.</param>
    /// <param name="cancellationToken">Ends the start.</param>
    public static async Task<DemoMesh> StartAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        var starts = WorkloadNames.Select(name => DemoWorkload.StartAsync(name, cancellationToken)).ToList();
        try
        {
            await Task.WhenAll(starts).ConfigureAwait(false);
        }
        catch
        {
            foreach (var started in starts.Where(s => s.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }

        var workloads = starts.Select(s => s.Result).ToList();
        var folder = Directory.CreateTempSubdirectory("meshhost-demo-").FullName;
        var mesh = new DemoMesh(folder, workloads);
        try
        {
            var ports = workloads.ToDictionary(w => w.Name, w => w.Port, StringComparer.Ordinal);
            foreach (var (name, template) in Templates())
            {
                await File.WriteAllTextAsync(Path.Combine(folder, name), Render(template, domain, ports), cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await mesh.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return mesh;
    }

    /// <summary>The embedded manifest templates, by file name, in name order.</summary>
    public static IReadOnlyList<(string FileName, string Text)> Templates()
    {
        var assembly = typeof(DemoMesh).Assembly;
        var result = new List<(string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            result.Add((resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }
        return result;
    }

    /// <summary>Fills in a template: <c>${domain}</c>, <c>${port:&lt;workload&gt;}</c> and <c>${ip:&lt;workload&gt;}</c>
    /// (a pod's or endpoint's address: 127.0.0.1 for every workload unless <paramref name="addresses"/> is given).</summary>
    /// <param name="template">The template.</param>
    /// <param name="domain">The cluster domain.</param>
    /// <param name="ports">Each workload's port.</param>
    /// <param name="addresses">Each workload's address (the gateway's too: <c>istio-ingressgateway</c>), to render
    /// the mesh as a cluster would place it; null for the live demo, where every workload is on 127.0.0.1.</param>
    /// <exception cref="InvalidOperationException">The template names a placeholder or workload that does not exist.</exception>
    public static string Render(string template, string domain, IReadOnlyDictionary<string, int> ports,
        IReadOnlyDictionary<string, string>? addresses = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(ports);
        return Placeholder().Replace(template, m => m.Groups["what"].Value switch
        {
            "domain" => domain,
            var what when what.StartsWith("port:", StringComparison.Ordinal) && ports.TryGetValue(what[5..], out var port) =>
                port.ToString(CultureInfo.InvariantCulture),
            var what when what.StartsWith("ip:", StringComparison.Ordinal) && addresses is null => Loopback,
            var what when what.StartsWith("ip:", StringComparison.Ordinal) && addresses!.TryGetValue(what[3..], out var address) => address,
            var what => throw new InvalidOperationException(
                $"the demo manifests name ${{{what}}}, which is neither ${{domain}} nor the port or address of a workload"),
        });
    }

    /// <summary>Stops the workloads and deletes the manifests folder.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var workload in Workloads)
        {
            await workload.DisposeAsync().ConfigureAwait(false);
        }
        try
        {
            Directory.Delete(ManifestsDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // ${port:<workload>} or ${ip:<workload>} in a comment (not a placeholder: it has no workload name) is left alone.
    [GeneratedRegex(@"\$\{(?<what>[a-z0-9:-]+)\}")]
    private static partial Regex Placeholder();
}
