using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MeshHost.Tests.Hosting;

/// <summary>The real examples/MeshHost, started as a process (<c>dotnet MeshHost.dll args…</c>, the build that
/// <c>dotnet run --project examples/MeshHost -c Release</c> runs); killed on dispose.</summary>
internal sealed partial class MeshHostProcess : ExampleProcess
{
    private MeshHostProcess(Process process)
        : base(process, "MeshHost")
    {
    }

    /// <summary>The arguments after <c>--</c> of the root README's first command (<see cref="Readme.MeshHostCommand"/>),
    /// checked to run examples/MeshHost and to be the command examples/MeshHost/README.md shows too.</summary>
    public static string[] ReadmeArguments()
    {
        var line = Readme.MeshHostCommand();
        Assert.StartsWith(Readme.MeshHostPrefix, line, StringComparison.Ordinal);
        var example = Readme.Blocks(Path.Combine("examples", "MeshHost", "README.md"))
            .SelectMany(b => b.Lines).FirstOrDefault(l => l.StartsWith("dotnet run ", StringComparison.Ordinal));
        Assert.Equal(line, example);
        return line[Readme.MeshHostPrefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Starts <c>dotnet MeshHost.dll args…</c> from the repository root, building the example first when
    /// its build is missing (the test project references the example, so building the tests built it).</summary>
    public static async Task<MeshHostProcess> StartAsync(params string[] args) =>
        new(await LaunchAsync("MeshHost", staleBefore: null, TimeSpan.FromMinutes(5), args));

    /// <summary>Waits for the log lines naming the bound gRPC and HTTP/1.1 addresses (ports 0 resolved).</summary>
    public async Task<(Uri Grpc, Uri? Http)> WaitForListeningAsync(bool http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var output = Output;
            var grpc = GrpcLine().Match(output);
            var http1 = HttpLine().Match(output);
            if (grpc.Success && (!http || http1.Success))
            {
                return (new Uri(grpc.Groups[1].Value), http1.Success ? new Uri(http1.Groups[1].Value) : null);
            }

            if (HasExited)
            {
                throw new InvalidOperationException($"MeshHost exited with {ExitCode} before listening. Output:\n{Output}");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"MeshHost did not log where it listens within {timeout.TotalSeconds:0} s. Output:\n{Output}");
    }

    [GeneratedRegex(@"Listening on (\S+): gRPC")]
    private static partial Regex GrpcLine();

    [GeneratedRegex(@"Listening on (\S+): HTTP/1\.1")]
    private static partial Regex HttpLine();
}
