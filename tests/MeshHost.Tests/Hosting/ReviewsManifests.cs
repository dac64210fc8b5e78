namespace MeshHost.Tests.Hosting;

/// <summary>
/// A temporary manifest folder holding the one-service mesh the operator tests share (Service bookinfo/reviews, port
/// 9080 → 8080), and a MeshHost started on it with loopback gRPC and HTTP ports. Deleted on dispose.
/// </summary>
internal sealed class ReviewsManifests : IDisposable
{
    private readonly DirectoryInfo _folder;

    public ReviewsManifests(string prefix)
    {
        _folder = Directory.CreateTempSubdirectory(prefix);
        File.WriteAllText(System.IO.Path.Combine(_folder.FullName, "mesh.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.20
              selector: {app: reviews}
              ports: [{name: http, port: 9080, targetPort: 8080}]
            """);
    }

    /// <summary>The folder.</summary>
    public string Path => _folder.FullName;

    /// <summary>A MeshHost serving this folder, its gRPC and HTTP ports on loopback (picked by the system).</summary>
    public Task<InProcessMeshHost> StartHostAsync() =>
        InProcessMeshHost.StartAsync(["--urls", "http://127.0.0.1:0", "--http-urls", "http://127.0.0.1:0", "--manifests", Path]);

    public void Dispose() => _folder.Delete(recursive: true);
}
