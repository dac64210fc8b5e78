using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace XdsServer.Tests.Files;

/// <summary>The real examples/FileServer, started as a process with its documented command line; killed on dispose.</summary>
internal sealed class FileServerProcess : IAsyncDisposable
{
    private static readonly SemaphoreSlim BuildGate = new(1, 1);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private FileServerProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Everything the process printed so far (stdout and stderr), for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The repository root (the folder holding Xds.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Starts <c>dotnet FileServer.dll args…</c>, building the example first when its build is missing
    /// or older than the server library this test was built with.</summary>
    public static async Task<FileServerProcess> StartAsync(params string[] args)
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

        return new FileServerProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>A port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
            throw new TimeoutException($"FileServer did not exit within {timeout.TotalSeconds:0} s. Output:\n{Output}");
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
        // bin/<Configuration>/<tfm>/ of this test assembly names the configuration to use.
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = baseDir.Parent!.Name;
        var project = Path.Combine(RepositoryRoot, "examples", "FileServer");
        var dll = Path.Combine(project, "bin", configuration, baseDir.Name, "FileServer.dll");
        var library = Path.Combine(AppContext.BaseDirectory, "XdsServer.dll");
        await BuildGate.WaitAsync();
        try
        {
            if (File.Exists(dll) && File.GetLastWriteTimeUtc(dll) >= File.GetLastWriteTimeUtc(library))
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
            foreach (var arg in new[] { "build", Path.Combine(project, "FileServer.csproj"), "-c", configuration, "--no-dependencies", "-nologo", "-v", "q" })
            {
                build.ArgumentList.Add(arg);
            }

            // --no-dependencies: the library was just built for this test run; building it again here could
            // collide with a build running next to the tests. The test host's MSBuild settings must not leak into a nested build.
            foreach (var name in build.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || k.StartsWith("MSBUILD", StringComparison.Ordinal) || k == "VSTEST_HOST_DEBUG").ToList())
            {
                build.Environment.Remove(name);
            }

            using var process = Process.Start(build)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(cts.Token);
            if (process.ExitCode != 0 || !File.Exists(dll))
            {
                throw new InvalidOperationException($"building examples/FileServer failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
            }

            return dll;
        }
        finally
        {
            BuildGate.Release();
        }
    }
}
