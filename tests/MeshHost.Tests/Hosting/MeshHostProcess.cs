using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MeshHost.Tests.Hosting;

/// <summary>The real examples/MeshHost, started as a process (<c>dotnet MeshHost.dll args…</c>, the build that
/// <c>dotnet run --project examples/MeshHost -c Release</c> runs); killed on dispose.</summary>
internal sealed partial class MeshHostProcess : IAsyncDisposable
{
    private static readonly SemaphoreSlim BuildGate = new(1, 1);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private MeshHostProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Everything the process printed so far (stdout and stderr), for assertions and failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>The repository root (the folder holding Xds.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

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
    /// its build is missing.</summary>
    public static async Task<MeshHostProcess> StartAsync(params string[] args)
    {
        var dll = await EnsureBuiltAsync();
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new MeshHostProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
    }

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

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"MeshHost exited with {_process.ExitCode} before listening. Output:\n{Output}");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"MeshHost did not log where it listens within {timeout.TotalSeconds:0} s. Output:\n{Output}");
    }

    /// <summary>Waits for the process to exit by itself (bounded).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"MeshHost did not exit within {timeout.TotalSeconds:0} s. Output:\n{Output}");
        }

        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    [GeneratedRegex(@"Listening on (\S+): gRPC")]
    private static partial Regex GrpcLine();

    [GeneratedRegex(@"Listening on (\S+): HTTP/1\.1")]
    private static partial Regex HttpLine();

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : "dotnet";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xds.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Xds.sln above {AppContext.BaseDirectory}");
    }

    private static async Task<string> EnsureBuiltAsync()
    {
        // bin/<Configuration>/<tfm>/ of this test assembly names the configuration; the test project references the
        // example, so building the tests built it. Only a missing build is built here (without its dependencies,
        // which were built for this test run).
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = baseDir.Parent!.Name;
        var project = Path.Combine(RepositoryRoot, "examples", "MeshHost");
        var dll = Path.Combine(project, "bin", configuration, baseDir.Name, "MeshHost.dll");
        await BuildGate.WaitAsync();
        try
        {
            if (File.Exists(dll))
            {
                return dll;
            }

            var build = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = RepositoryRoot,
            };
            foreach (var arg in new[] { "build", Path.Combine(project, "MeshHost.csproj"), "-c", configuration, "--no-dependencies", "-nologo", "-v", "q" })
            {
                build.ArgumentList.Add(arg);
            }

            foreach (var name in build.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || k == "VSTEST_HOST_DEBUG").ToList())
            {
                build.Environment.Remove(name);
            }

            using var process = Process.Start(build)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await process.WaitForExitAsync(cts.Token);
            if (process.ExitCode != 0 || !File.Exists(dll))
            {
                throw new InvalidOperationException($"building examples/MeshHost failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
            }

            return dll;
        }
        finally
        {
            BuildGate.Release();
        }
    }
}
