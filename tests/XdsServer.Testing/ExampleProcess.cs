using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace XdsServer.Testing;

/// <summary>
/// One of the repository's example hosts (examples/&lt;name&gt;) started as a real process, <c>dotnet &lt;name&gt;.dll
/// args…</c> from the repository root (the build <c>dotnet run --project examples/&lt;name&gt; -c …</c> runs), with its
/// output collected; killed on dispose. Derived classes add what their host prints.
/// </summary>
public abstract class ExampleProcess : IAsyncDisposable
{
    private static readonly SemaphoreSlim BuildGate = new(1, 1);
    private static readonly HashSet<string> Built = new(StringComparer.Ordinal); // under BuildGate
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    /// <summary>Takes over a started process (see <see cref="LaunchAsync"/>).</summary>
    /// <param name="process">The process, with redirected output not yet read.</param>
    /// <param name="name">The example's name, for messages.</param>
    protected ExampleProcess(Process process, string name)
    {
        ArgumentNullException.ThrowIfNull(process);
        _process = process;
        Name = name;
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The repository root (the folder holding Xds.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The example's name (its folder under examples/).</summary>
    public string Name { get; }

    /// <summary>Everything the process printed so far (stdout and stderr), for assertions and failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Its exit code, once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

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
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:0} s. Output:\n{Output}");
        }

        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Kills the process (and its children) unless it has exited.</summary>
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
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Starts <c>dotnet &lt;name&gt;.dll args…</c> from the repository root, building the example first when its
    /// build is missing, or older than <paramref name="staleBefore"/> when given.</summary>
    /// <param name="name">The example (its folder under examples/ and its project name).</param>
    /// <param name="staleBefore">A library this test run built (the test's own <c>XdsServer.dll</c>, say): the example's
    /// build is stale when its copy of that file is older or missing; null for none.</param>
    /// <param name="buildTimeout">How long a build may take.</param>
    /// <param name="args">The example's arguments.</param>
    protected static async Task<Process> LaunchAsync(string name, string? staleBefore, TimeSpan buildTimeout, IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var dll = await EnsureBuiltAsync(name, staleBefore, buildTimeout);
        var start = Start(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
    }

    private static ProcessStartInfo Start(string firstArgument)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        start.ArgumentList.Add(firstArgument);
        return start;
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

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

    private static async Task<string> EnsureBuiltAsync(string name, string? staleBefore, TimeSpan buildTimeout)
    {
        // bin/<Configuration>/<tfm>/ of this test assembly names the configuration to use.
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = baseDir.Parent!.Name;
        var project = Path.Combine(RepositoryRoot, "examples", name);
        var dll = Path.Combine(project, "bin", configuration, baseDir.Name, name + ".dll");
        await BuildGate.WaitAsync();
        try
        {
            // Stale means the example runs an older copy of the library than this test run built: compare the copy in
            // the example's own bin folder (the example's dll keeps its old write time when only a library changed, as
            // the compiler skips an unchanged project). At most one nested build per example per test run.
            var copy = staleBefore is null ? dll : Path.Combine(Path.GetDirectoryName(dll)!, Path.GetFileName(staleBefore));
            if (File.Exists(dll) && (staleBefore is null || Built.Contains(name)
                || (File.Exists(copy) && File.GetLastWriteTimeUtc(copy) >= File.GetLastWriteTimeUtc(staleBefore))))
            {
                return dll;
            }

            var build = Start("build");
            foreach (var arg in new[] { Path.Combine(project, name + ".csproj"), "-c", configuration, "--no-dependencies", "-nologo", "-v", "q" })
            {
                build.ArgumentList.Add(arg);
            }

            // --no-dependencies: the libraries were just built for this test run; building them again here could
            // collide with a build running next to the tests. The test host's MSBuild settings must not leak into a
            // nested build.
            foreach (var variable in build.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || k == "VSTEST_HOST_DEBUG").ToList())
            {
                build.Environment.Remove(variable);
            }

            using var process = Process.Start(build)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(buildTimeout);
            await process.WaitForExitAsync(cts.Token);
            if (process.ExitCode != 0 || !File.Exists(dll))
            {
                throw new InvalidOperationException($"building examples/{name} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
            }

            Built.Add(name);
            return dll;
        }
        finally
        {
            BuildGate.Release();
        }
    }
}
