using System.Diagnostics;
using System.Threading.Channels;

namespace XdsServer.Kubernetes.Tests.ApiServer;

/// <summary>Runs the real kubectl (an independent client of the API protocol) against a kubeconfig, with its own
/// discovery cache directory.</summary>
public sealed class Kubectl : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly string _cacheDirectory;

    private Kubectl(Process process, string cacheDirectory)
    {
        _process = process;
        _cacheDirectory = cacheDirectory;
    }

    /// <summary>The kubectl on PATH; fails the test (never skips it) when there is none.</summary>
    public static string Find()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "kubectl"))
            .FirstOrDefault(File.Exists);
        Assert.True(found is not null,
            "kubectl is not on PATH: these tests check the test API server against the real client. test.sh installs it (Debian's kubernetes-client); install it with `apt-get install kubernetes-client`.");
        return found;
    }

    /// <summary>Starts <c>kubectl --kubeconfig {kubeconfig} {args}</c>.</summary>
    public static Kubectl Start(string kubeconfig, params string[] args)
    {
        var cache = Directory.CreateTempSubdirectory("xds-test-kubectl-").FullName;
        var info = new ProcessStartInfo(Find())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["--kubeconfig", kubeconfig, "--cache-dir", cache, "--request-timeout", "30s", .. args])
        {
            info.ArgumentList.Add(arg);
        }

        var kubectl = new Kubectl(new Process { StartInfo = info }, cache);
        kubectl._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                kubectl._lines.Writer.TryComplete();
            }
            else
            {
                kubectl._lines.Writer.TryWrite(e.Data);
            }
        };
        kubectl._process.ErrorDataReceived += (_, e) =>
        {
            lock (kubectl._stderr)
            {
                kubectl._stderr.AppendLine(e.Data);
            }
        };
        kubectl._process.Start();
        kubectl._process.BeginOutputReadLine();
        kubectl._process.BeginErrorReadLine();
        return kubectl;
    }

    /// <summary>Waits (bounded) until kubectl has printed <paramref name="line"/>.</summary>
    public async Task WaitForLineAsync(string line, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (!_seen.Contains(line))
            {
                if (!await _lines.Reader.WaitToReadAsync(cancel.Token))
                {
                    Assert.Fail($"kubectl ended (exit {(_process.HasExited ? _process.ExitCode : -1)}) without printing '{line}'; {Describe()}");
                }

                while (_lines.Reader.TryRead(out var next))
                {
                    _seen.Add(next);
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"kubectl did not print '{line}' within {timeout.TotalSeconds:0} s; {Describe()}");
        }
    }

    /// <summary>Waits (bounded) for kubectl to exit and returns its exit code and every line it printed.</summary>
    public async Task<(int ExitCode, IReadOnlyList<string> Lines)> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            await foreach (var line in _lines.Reader.ReadAllAsync(cancel.Token))
            {
                _seen.Add(line);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"kubectl did not exit within {timeout.TotalSeconds:0} s; {Describe()}");
        }

        return (_process.ExitCode, _seen);
    }

    /// <summary>Stops kubectl (the process this started) if it still runs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_cacheDirectory, recursive: true);
    }

    private string Describe()
    {
        lock (_stderr)
        {
            return $"stdout: [{string.Join(" | ", _seen)}] stderr: {_stderr}";
        }
    }
}
