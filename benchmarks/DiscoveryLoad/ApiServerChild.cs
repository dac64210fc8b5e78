using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using XdsServer.Kubernetes.Testing;

namespace DiscoveryLoad;

/// <summary>
/// The child process (<c>--serve</c>): runs the <see cref="TestApiServer"/> seeded by <see cref="ClusterSeed"/> and
/// answers one command per line on stdin with one line on stdout (see <see cref="ApiServerProcess"/>), so the API
/// server's memory and CPU are its own, not the measured process's.
/// </summary>
internal static class ApiServerChild
{
    public static async Task<int> RunAsync(LoadOptions options)
    {
        var started = Stopwatch.GetTimestamp();
        await using var server = await TestApiServer.StartAsync();
        var slices = ClusterSeed.Seed(server, options.Services, options.PodsPerService);
        Say($"READY {server.KubeconfigPath} {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} {server.ResourceVersion}");
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (words)
            {
                case ["flip", var s, var e, var ready]:
                    var slice = slices[int.Parse(s, CultureInfo.InvariantCulture)];
                    slice.Endpoints[int.Parse(e, CultureInfo.InvariantCulture)].Conditions.Ready = ready == "true";
                    var at = Stopwatch.GetTimestamp();
                    var rv = server.Update(slice);
                    Say($"FLIPPED {at} {rv}");
                    break;
                case ["watches"]:
                    Say($"WATCHES {server.OpenWatches(ApiResource.EndpointSlices)}");
                    break;
                case ["lists"]:
                    Say("LISTS " + JsonSerializer.Serialize(server.AnsweredLists.Select(l =>
                        new ListTiming(l.Resource.GroupVersion + " " + l.Resource.Plural, l.Items, l.Bytes, l.StartTimestamp, l.EndTimestamp))));
                    break;
                case ["memory"]:
                    Say($"MEMORY {GC.GetTotalMemory(forceFullCollection: true)} {ProcessMemory.Rss()}");
                    break;
                case ["quit"]:
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"api server child: unknown command '{line}'");
                    return 2;
            }
        }

        return 0;
    }

    private static void Say(string line) => Console.Out.WriteLine(line);
}
