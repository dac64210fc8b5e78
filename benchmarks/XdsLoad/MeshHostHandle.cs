using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace XdsLoad;

/// <summary>
/// examples/MeshHost as the server under test: <c>dotnet MeshHost.dll --urls http://127.0.0.1:0 --manifests DIR</c>
/// (built alongside in the same configuration), ready once it has logged the bound gRPC address ("Listening on
/// URL: gRPC …") and its first push context ("Discovery is ready"). Its log is drained; warnings and errors are
/// echoed with a <c>[meshhost]</c> prefix. Stopped with SIGTERM at the end.
/// </summary>
internal sealed partial class MeshHostHandle : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MeshHostHandle(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public Uri GrpcUrl { get; private set; } = null!;

    /// <summary>The last lines the host logged, for failure messages.</summary>
    public string Tail => string.Join('\n', _tail);

    public static async Task<MeshHostHandle> StartAsync(string? dll, string manifests, TimeSpan timeout)
    {
        dll ??= typeof(MeshHostHandle).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "MeshHostDll").Value!;
        dll = Path.GetFullPath(dll);
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"MeshHost not built at {dll} (build benchmarks/XdsLoad in the same configuration)", dll);
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0", "--manifests", manifests })
        {
            start.ArgumentList.Add(arg);
        }

        var handle = new MeshHostHandle(Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet"));
        try
        {
            handle.GrpcUrl = await handle._listening.Task.WaitAsync(timeout).ConfigureAwait(false);
            await handle._ready.Task.WaitAsync(timeout).ConfigureAwait(false);
            return handle;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            var tail = handle.Tail;
            await handle.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"MeshHost did not become ready within {timeout.TotalSeconds:F0} s ({e.Message}). Its last lines:\n{tail}", e);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _listening.TrySetException(new InvalidOperationException("MeshHost exited before it was listening"));
            _ready.TrySetException(new InvalidOperationException("MeshHost exited before discovery was ready"));
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > 40)
        {
            _tail.TryDequeue(out _);
        }

        if (GrpcLine().Match(line) is { Success: true } grpc)
        {
            _listening.TrySetResult(new Uri(grpc.Groups[1].Value));
        }
        else if (line.Contains("Discovery is ready", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
        else if (line.Contains(" warn: ", StringComparison.Ordinal) || line.Contains(" fail: ", StringComparison.Ordinal)
            || line.Contains(" crit: ", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"[meshhost] {line}");
        }
    }

    [GeneratedRegex(@"Listening on (\S+): gRPC")]
    private static partial Regex GrpcLine();

    /// <summary>SIGTERM (a clean shutdown), killed after 15 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync().ConfigureAwait(false);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("XdsLoad: MeshHost did not stop within 15 s of SIGTERM; killing it");
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
