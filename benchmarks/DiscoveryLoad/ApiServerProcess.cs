using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DiscoveryLoad;

/// <summary>
/// The API server in a child process (this program with <c>--serve</c>, started as <c>dotnet DiscoveryLoad.dll</c>):
/// one command per line on its stdin, one answer line on its stdout.
/// </summary>
internal sealed class ApiServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(30);
    private readonly Process _process;

    private ApiServerProcess(Process process, string kubeconfig, TimeSpan seedTime)
    {
        _process = process;
        KubeconfigPath = kubeconfig;
        SeedTime = seedTime;
    }

    public string KubeconfigPath { get; }

    /// <summary>How long the child took to start the server and seed it.</summary>
    public TimeSpan SeedTime { get; }

    public static async Task<ApiServerProcess> StartAsync(LoadOptions options)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(ApiServerProcess).Assembly.Location);
        foreach (var argument in options.ServeArguments())
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet");
        try
        {
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(300))
                ?? throw new InvalidOperationException("the API server process ended before it was ready");
            var words = ready.Split(' ');
            if (words is not ["READY", var kubeconfig, var ms, _])
            {
                throw new InvalidOperationException($"the API server process said '{ready}'");
            }

            return new ApiServerProcess(process, kubeconfig, TimeSpan.FromMilliseconds(double.Parse(ms, CultureInfo.InvariantCulture)));
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>Sets endpoint <paramref name="endpoint"/> of service <paramref name="service"/>'s slice ready or not.</summary>
    /// <returns>The child's timestamp taken just before the update, and the slice's new resource version.</returns>
    public async Task<(long Timestamp, string ResourceVersion)> FlipAsync(int service, int endpoint, bool ready)
    {
        var words = await AskAsync(string.Create(CultureInfo.InvariantCulture, $"flip {service} {endpoint} {(ready ? "true" : "false")}"), "FLIPPED");
        return (long.Parse(words[1], CultureInfo.InvariantCulture), words[2]);
    }

    /// <summary>How many EndpointSlice watches are open.</summary>
    public async Task<int> OpenSliceWatchesAsync() => int.Parse((await AskAsync("watches", "WATCHES"))[1], CultureInfo.InvariantCulture);

    /// <summary>Every list answered so far.</summary>
    public async Task<IReadOnlyList<ListTiming>> ListsAsync()
    {
        var words = await AskAsync("lists", "LISTS");
        return JsonSerializer.Deserialize<List<ListTiming>>(words[1]) ?? [];
    }

    /// <summary>The child's managed heap after a full collection, and its resident set size.</summary>
    public async Task<(long Managed, long Rss)> MemoryAsync()
    {
        var words = await AskAsync("memory", "MEMORY");
        return (long.Parse(words[1], CultureInfo.InvariantCulture), long.Parse(words[2], CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("quit");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            _process.Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task<string[]> AskAsync(string command, string answer)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(AnswerBound)
            ?? throw new InvalidOperationException($"the API server process ended (asked '{command}')");
        var words = answer == "LISTS" ? line.Split(' ', 2) : line.Split(' ');
        return words[0] == answer ? words : throw new InvalidOperationException($"asked '{command}', the API server process said '{line}'");
    }
}
