using XdsServer.Testing.Interop;

namespace XdsServer.Tests.Files;

/// <summary>The README's main command, as shipped: a real gRPC xDS client resolves xds:///hello through the
/// FileServer serving the sample folder, and its calls reach the backend the sample points at.</summary>
public sealed class FileServerRealClientTests : IDisposable
{
    private readonly ResourceFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Sample_folder_serves_xds_hello_to_a_real_client()
    {
        // The shipped sample, with only the endpoint port moved from 50051 to a backend on a free port.
        await using var backend = await EchoBackend.StartAsync("sample-backend");
        var sample = Path.Combine(FileServerProcess.RepositoryRoot, "examples", "FileServer", "sample");
        foreach (var file in Directory.GetFiles(sample))
        {
            var text = File.ReadAllText(file);
            if (Path.GetFileName(file) == "endpoints.yaml")
            {
                Assert.Contains("port_value: 50051", text, StringComparison.Ordinal);
                text = text.Replace("port_value: 50051", $"port_value: {backend.Port}", StringComparison.Ordinal);
            }

            _folder.Write(Path.GetFileName(file), text);
        }

        var grpcPort = FileServerProcess.FreePort();
        await using var server = await FileServerProcess.StartAsync("--urls", $"http://127.0.0.1:{grpcPort}", "--resources", _folder.Path);
        await GrpcHealthProbe.WaitForAsync(new Uri($"http://127.0.0.1:{grpcPort}"), GrpcHealthProbe.Serving,
            TimeSpan.FromSeconds(60), () => server.Output);

        var outcomes = await XdsClientRunner.Get("python-grpcio").RunAsync(new XdsClientRun
        {
            Bootstrap = new XdsBootstrap { ServerPort = grpcPort, NodeId = "any-node" },
            Calls = 3,
        });

        Assert.All(outcomes, o => Assert.Equal("sample-backend", o.Backend));
        Assert.Equal(3, backend.Calls);
    }
}
