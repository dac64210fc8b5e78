using System.Diagnostics;
using System.Globalization;

namespace DiscoveryLoad;

/// <summary>What one run measured, printed as Markdown: a table of every figure, then one summary row (with its
/// header) to set side by side with runs of other sizes.</summary>
internal sealed record LoadReport(
    LoadOptions Options,
    TimeSpan SeedTime,
    IReadOnlyList<ListTiming> Lists,
    long Start,
    long ReadyAt,
    TimeSpan CpuToReady,
    long Allocated,
    int Objects,
    long HeapBefore,
    long HeapReady,
    long RssReady,
    long PeakRss,
    (long Managed, long Rss) ApiServer,
    IReadOnlyList<double> Flips)
{
    public void Print()
    {
        var initial = Lists.Where(l => l.Start >= Start && l.End <= ReadyAt).ToList();
        var firstStart = initial.Count == 0 ? Start : initial.Min(l => l.Start);
        var lastEnd = initial.Count == 0 ? Start : initial.Max(l => l.End);
        var ready = Stopwatch.GetElapsedTime(Start, ReadyAt);
        var listsAnswered = Stopwatch.GetElapsedTime(Start, lastEnd);
        var afterLists = Stopwatch.GetElapsedTime(lastEnd, ReadyAt);
        var serverListTime = TimeSpan.FromTicks(initial.Sum(l => Stopwatch.GetElapsedTime(l.Start, l.End).Ticks));
        var sorted = Flips.Order().ToList();
        var held = HeapReady - HeapBefore;
        var pods = Options.Services * Options.PodsPerService;

        var o = Console.Out;
        o.WriteLine(Invariant($"### DiscoveryLoad: {Options.Services:N0} services, {pods:N0} pods, {Options.Services:N0} EndpointSlices"));
        o.WriteLine();
        o.WriteLine("| Measure | Value |");
        o.WriteLine("|---|---:|");
        Row("API server seeded (child process, before the source starts)", Invariant($"{SeedTime.TotalSeconds:F1} s"));
        Row("registry objects when ready", Invariant($"{Objects:N0}"));
        Row("initial lists answered (count, items, JSON)", Invariant($"{initial.Count}, {initial.Sum(l => l.Items):N0}, {initial.Sum(l => l.Bytes) / 1e6:F1} MB"));
        foreach (var l in initial.Where(l => l.Items >= Options.Services).OrderByDescending(l => l.Bytes))
        {
            Row(Invariant($"  list {l.Resource}: items, JSON, server time"), Invariant($"{l.Items:N0}, {l.Bytes / 1e6:F2} MB, {Ms(Stopwatch.GetElapsedTime(l.Start, l.End))}"));
        }

        Row("first list started (after source start)", Ms(Stopwatch.GetElapsedTime(Start, firstStart)));
        Row("last list answered (after source start)", Ms(listsAnswered));
        Row("API server time answering the lists (sum)", Ms(serverListTime));
        Row("**ready** (`WhenReady`, after source start)", "**" + Ms(ready) + "**");
        Row("**ready after the last list was answered**", "**" + Ms(afterLists) + "**");
        Row("CPU of this process, start to ready", Ms(CpuToReady));
        Row("allocated, start to ready", Invariant($"{Allocated / 1e6:F0} MB"));
        Row("**managed heap held for the state** (ready − before, full GC each)", Invariant($"**{held / 1e6:F1} MB**"));
        Row("managed heap before the source started", Invariant($"{HeapBefore / 1e6:F1} MB"));
        Row("RSS when ready / peak (this process)", Invariant($"{RssReady / 1e6:F0} MB / {PeakRss / 1e6:F0} MB"));
        Row("API server process: managed heap / RSS (not in the figures above)", Invariant($"{ApiServer.Managed / 1e6:F0} MB / {ApiServer.Rss / 1e6:F0} MB"));
        Row(Invariant($"**one endpoint flip to a RegistryWatch**, {Flips.Count} flips: p50 / p99 / max"),
            Invariant($"**{Pct(sorted, 0.50):F2} / {Pct(sorted, 0.99):F2} / {sorted[^1]:F2} ms**"));
        Row("  mean", Invariant($"{sorted.Average():F2} ms"));
        o.WriteLine();
        o.WriteLine("| Services | Pods | ready | ready after lists | lists answered | held | flip p50 | flip p99 |");
        o.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        o.WriteLine(Invariant($"| {Options.Services:N0} | {pods:N0} | {Ms(ready)} | {Ms(afterLists)} | {Ms(listsAnswered)} | {held / 1e6:F1} MB | {Pct(sorted, 0.50):F2} ms | {Pct(sorted, 0.99):F2} ms |"));

        void Row(string name, string value) => o.WriteLine($"| {name} | {value} |");
    }

    private static string Ms(TimeSpan t) => Invariant($"{t.TotalMilliseconds:N0} ms");

    // Nearest rank.
    private static double Pct(List<double> sorted, double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
