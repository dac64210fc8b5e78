using Microsoft.Extensions.Logging;
using XdsServer.Discovery;
using XdsServer.Kubernetes;

namespace XdsServer.Kubernetes.Tests;

/// <summary>A temporary manifest folder with a <see cref="ManifestDiscoverySource"/> running on it into a fresh
/// <see cref="ServiceRegistry"/>; files are written atomically (a rename), so the source never reads half a file.</summary>
internal sealed class ManifestFolderHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    public ManifestFolderHarness()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"xds-manifests-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public ServiceRegistry Registry { get; } = new();

    public LogCapture Log { get; } = new();

    public ManifestDiscoverySource? Source { get; private set; }

    public RegistrySnapshot Current => Registry.Current;

    public void Write(string file, string text)
    {
        var path = Path.Combine(Directory, file);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(Path.GetTempPath(), $"xds-manifest-{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    public void Delete(string file) => File.Delete(Path.Combine(Directory, file));

    /// <summary>Starts the source and waits for its first load.</summary>
    public async Task<ManifestDiscoverySource> StartAsync()
    {
        Source = new ManifestDiscoverySource(
            new ManifestDiscoveryOptions { Directory = Directory, Debounce = TimeSpan.FromMilliseconds(20), Rescan = TimeSpan.FromMilliseconds(500) },
            logger: new Logger<ManifestDiscoverySource>(Log));
        var sink = Registry.OpenSink(Source.Name);
        _run = Source.RunAsync(sink, _stop.Token);
        await Registry.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
        return Source;
    }

    public DiscoverySourceStatus Status => Registry.Sources.Single();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }

        _stop.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
