using System.Diagnostics;
using XdsServer.Discovery;
using XdsServer.Kubernetes;

namespace DiscoveryLoad;

/// <summary>
/// One load run: the real <see cref="KubernetesDiscoverySource"/> (default translator and options, the child's
/// kubeconfig) into a <see cref="ServiceRegistry"/> in this process, against the API server in a child process.
/// </summary>
/// <remarks>
/// <para>Ready: from just before the source starts to <see cref="ServiceRegistry.WhenReady"/>; the child's list
/// timestamps (same monotonic clock) say when the lists were answered.</para>
/// <para>Memory: <see cref="GC.GetTotalMemory(bool)"/> with a full collection before the source starts (the
/// registry empty, the child already seeded) and once it is ready: the difference is what this process holds for
/// that state (the registry, the source's client, informers and held objects, and buffers and metadata kept by the
/// first use of the client and of System.Text.Json). The API server lives in the child, so none of its objects are
/// in this heap; its own heap is reported apart.</para>
/// <para>Flip: endpoint (k mod pods) of the slice of service (37k mod N) is set not ready in the child; the time from
/// the child's timestamp just before its update to a <see cref="RegistryWatch"/> here returning that slice.</para>
/// </remarks>
internal sealed class DiscoveryRun(LoadOptions options)
{
    private const int WarmUpFlips = 5;

    public async Task<int> RunAsync()
    {
        await using var server = await ApiServerProcess.StartAsync(options);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var report = await MeasureAsync(server, heapBefore);
        if (report is null)
        {
            return 1;
        }

        (report with { ApiServer = await server.MemoryAsync() }).Print();
        return 0;
    }

    private async Task<LoadReport?> MeasureAsync(ApiServerProcess server, long heapBefore)
    {
        var registry = new ServiceRegistry();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        using var stop = new CancellationTokenSource();
        var start = Stopwatch.GetTimestamp();
        var run = RunSourceAsync(registry, server.KubeconfigPath, stop.Token);
        var ready = await Task.WhenAny(registry.WhenReady, run, Task.Delay(options.ReadyTimeout));
        var readyAt = Stopwatch.GetTimestamp();
        if (ready != registry.WhenReady)
        {
            var why = ready == run ? $"the source ended: {run.Exception?.GetBaseException().Message ?? "without an error"}" : $"not ready within {options.ReadyTimeout.TotalSeconds:F0} s";
            await Console.Error.WriteLineAsync($"FAIL: the registry did not become ready ({why}); sources: {string.Join("; ", registry.Sources)}");
            await stop.CancelAsync();
            return null;
        }

        var cpuToReady = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var objects = registry.Current.Count;
        var counts = Counts(registry.Current);
        if (counts != (options.Services, options.Services, options.Services * options.PodsPerService))
        {
            await Console.Error.WriteLineAsync($"FAIL: ready, but the registry holds {counts} (services, slices, pods); expected {options.Services}, {options.Services}, {options.Services * options.PodsPerService}");
            await stop.CancelAsync();
            return null;
        }

        var heapReady = GC.GetTotalMemory(forceFullCollection: true);
        var rssReady = ProcessMemory.Rss();
        var lists = await server.ListsAsync();

        // Flips once the slices' watch is open (a flip before would be replayed when it opens, and timed with it).
        var bound = Stopwatch.StartNew();
        while (await server.OpenSliceWatchesAsync() == 0)
        {
            if (bound.Elapsed > TimeSpan.FromSeconds(30))
            {
                await Console.Error.WriteLineAsync("FAIL: the source opened no EndpointSlice watch within 30 s");
                await stop.CancelAsync();
                return null;
            }

            await Task.Delay(20);
        }

        List<double> flips = [];
        using (var watch = registry.Watch())
        {
            for (var k = 0; k < WarmUpFlips + options.Flips; k++)
            {
                var service = (int)(37L * k % options.Services);
                var key = new ObjectKey(RegistryKinds.EndpointSlice, ClusterSeed.NamespaceOf(service, options.Services), ClusterSeed.SliceName(service));
                var seen = SeenAsync(watch, key, stop.Token);
                var (flippedAt, _) = await server.FlipAsync(service, k % options.PodsPerService, ready: k / options.Services % 2 == 1);
                var seenAt = await seen.WaitAsync(TimeSpan.FromSeconds(30));
                if (k >= WarmUpFlips)
                {
                    flips.Add(Stopwatch.GetElapsedTime(flippedAt, seenAt).TotalMilliseconds);
                }

                await Task.Delay(10);
            }
        }

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        return new LoadReport(options, server.SeedTime, lists, start, readyAt, cpuToReady, allocated, objects,
            heapBefore, heapReady, rssReady, ProcessMemory.PeakRss(), default, flips);
    }

    // The source and its sink live only in this method's state, which is let go when it completes.
    private static async Task RunSourceAsync(ServiceRegistry registry, string kubeconfig, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var source = new KubernetesDiscoverySource(new KubernetesDiscoveryOptions { KubeconfigPath = kubeconfig });
        await source.RunAsync(registry.OpenSink(source.Name), cancellationToken);
    }

    private static (int Services, int Slices, int Pods) Counts(RegistrySnapshot snapshot) =>
        (snapshot.OfKind(RegistryKinds.Service).Count(), snapshot.OfKind(RegistryKinds.EndpointSlice).Count(), snapshot.OfKind(RegistryKinds.Pod).Count());

    // Completes with the time the watch returned a batch holding `key` (other changes are skipped).
    private static async Task<long> SeenAsync(RegistryWatch watch, ObjectKey key, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (changes, _) = await watch.NextAsync(cancellationToken);
            var at = Stopwatch.GetTimestamp();
            if (changes.Any(c => c.Key == key))
            {
                return at;
            }
        }
    }
}
