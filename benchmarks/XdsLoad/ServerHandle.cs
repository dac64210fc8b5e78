using System.Diagnostics;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;

namespace XdsLoad;

/// <summary>Answer of the server's <c>POST /setup</c>.</summary>
internal sealed record SetupResult(int Generation, Dictionary<string, string> Versions, Dictionary<string, int> Counts);

/// <summary>Answer of the server's <c>POST /update</c>: <c>SetTimestamp</c> is the server's
/// <c>Stopwatch.GetTimestamp()</c> just before it published the change (CLOCK_MONOTONIC on Linux, so it compares
/// with this process's own timestamps on the same machine).</summary>
internal sealed record UpdateResult(int Generation, long SetTimestamp, long TimestampFrequency, Dictionary<string, string> Changed, int ChangedResources);

/// <summary>Answer of the server's <c>GET /stats</c>.</summary>
internal sealed record StatsResult(string Mode, long Acks, long Nacks, string? LastNackError, int OpenStreams);

/// <summary>One resource of the server's <c>GET /published</c>: its delta version and the digest of its bytes
/// (<see cref="ResourceCatalog.Digest"/>).</summary>
internal sealed record PublishedResource(string Version, string Digest);

/// <summary>Answer of the server's <c>GET /published</c>: per type URL, every resource it serves now, by name.</summary>
internal sealed record PublishedResult(int Generation, Dictionary<string, Dictionary<string, PublishedResource>> Types);

/// <summary>The XdsLoad.Server under test: started here (and stopped at the end) or attached to.</summary>
internal sealed class ServerHandle : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Process? _process;
    private readonly HttpClient _control;

    private ServerHandle(Process? process, int pid, Uri grpc, Uri control)
    {
        _process = process;
        Pid = pid;
        GrpcUrl = grpc;
        _control = new HttpClient { BaseAddress = control, Timeout = TimeSpan.FromMinutes(5) };
    }

    public int Pid { get; }

    public Uri GrpcUrl { get; }

    public static ServerHandle Attach(int pid, string grpcUrl, string controlUrl) => new(null, pid, new Uri(grpcUrl), new Uri(controlUrl));

    /// <summary>Starts <c>dotnet XdsLoad.Server.dll</c> on free loopback ports and waits for its ready line.</summary>
    public static async Task<ServerHandle> StartAsync(string? dll, bool floor)
    {
        dll ??= typeof(ServerHandle).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "XdsLoadServerDll").Value!;
        dll = Path.GetFullPath(dll);
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"XdsLoad.Server not built at {dll} (build benchmarks/XdsLoad in the same configuration)", dll);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        if (floor)
        {
            start.ArgumentList.Add("--floor");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet");
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[server] {e.Data}");
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("XdsLoad.Server exited before it was ready"));
            }
            else if (e.Data.StartsWith("XDSLOAD-READY ", StringComparison.Ordinal))
            {
                ready.TrySetResult(e.Data);
            }
            else
            {
                Console.Error.WriteLine($"[server] {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var line = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            var fields = line.Split(' ').Skip(1).Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            return new ServerHandle(process, process.Id, new Uri(fields["grpc"]), new Uri(fields["control"]));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    public async Task<SetupResult> SetupAsync(object shape) => await PostAsync<SetupResult>("/setup", shape).ConfigureAwait(false);

    public async Task<UpdateResult> UpdateAsync(string kind, double fraction) =>
        await PostAsync<UpdateResult>("/update", new { kind, fraction }).ConfigureAwait(false);

    public async Task<StatsResult> StatsAsync() =>
        (await _control.GetFromJsonAsync<StatsResult>(new Uri("/stats", UriKind.Relative), Json).ConfigureAwait(false))!;

    public async Task<PublishedResult> PublishedAsync() =>
        (await _control.GetFromJsonAsync<PublishedResult>(new Uri("/published", UriKind.Relative), Json).ConfigureAwait(false))!;

    private async Task<T> PostAsync<T>(string path, object body)
    {
        using var response = await _control.PostAsJsonAsync(new Uri(path, UriKind.Relative), body, Json).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }

        return (await response.Content.ReadFromJsonAsync<T>(Json).ConfigureAwait(false))!;
    }

    /// <summary>Stops a server started here with SIGTERM (a clean shutdown), killing it after 15 s.</summary>
    public async ValueTask DisposeAsync()
    {
        _control.Dispose();
        if (_process is null)
        {
            return;
        }

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
                Console.Error.WriteLine("XdsLoad: the server did not stop within 15 s of SIGTERM; killing it");
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
