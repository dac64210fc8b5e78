using System.Diagnostics;
using System.Globalization;

namespace XdsLoad;

/// <summary>Runs one scenario: setup, initial sync, optional reconnect, updates; then collects the report.</summary>
internal static class ScenarioRunner
{
    public static async Task<LoadReport> RunAsync(LoadOptions o)
    {
        if (o.Server == "meshhost")
        {
            return await MeshHostRunner.RunAsync(o).ConfigureAwait(false);
        }

        await using var server = o.ServerUrl is not null
            ? ServerHandle.Attach(o.ServerPid ?? throw new ArgumentException("--server-pid is needed to attach"), o.ServerUrl, o.ControlUrl!)
            : await ServerHandle.StartAsync(o.ServerDll, o.Floor).ConfigureAwait(false);
        using var monitor = new ProcessMonitor(server.Pid);
        var setup = await server.SetupAsync(new
        {
            services = o.Services,
            endpointsPerService = 10,
            listeners = o.Listeners,
            routeConfigs = o.Listeners,
            clustersPerRoute = 10,
        }).ConfigureAwait(false);
        var report = new LoadReport
        {
            Scenario = o.Scenario,
            Protocol = o.Protocol,
            ServerMode = (await server.StatsAsync().ConfigureAwait(false)).Mode,
            Proxies = o.Proxies,
            StreamsPerConnection = o.StreamsPerConnection,
            Services = o.Services,
            StartedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
            ResourceCounts = setup.Counts,
        };

        await using var fleet = new ProxyFleet(o, server.GrpcUrl, setup);
        if (o.Scenario == "stalled")
        {
            // 1 % of the proxies, spread evenly: they stop reading their response stream after the initial sync.
            for (var i = 0; i < fleet.Proxies.Length; i += 100)
            {
                fleet.Proxies[i].StallAfterSync = true;
                report.StalledProxies++;
            }
        }

        await InitialSyncAsync(o, fleet, monitor, report).ConfigureAwait(false);
        await CheckHeldAsync(o, "initial sync", fleet.Proxies, server, report).ConfigureAwait(false);
        if (o.Scenario == "reconnect")
        {
            await ReconnectAsync(o, server, fleet, monitor, report).ConfigureAwait(false);
            await CheckHeldAsync(o, "reconnect", fleet.Proxies, server, report).ConfigureAwait(false);
        }

        if (o.Updates > 0 && report.Synced > 0)
        {
            if (o.Scenario == "drop")
            {
                // Self-test: every other proxy ACKs the update but keeps its old resources, so the check must fail.
                for (var i = 0; i < fleet.Proxies.Length; i += 2)
                {
                    fleet.Proxies[i].DropNextChange = true;
                }
            }

            await UpdatesAsync(o, server, fleet, monitor, setup, report).ConfigureAwait(false);
            await CheckHeldAsync(o, "updates", [.. fleet.Proxies.Where(p => !p.StallAfterSync)], server, report).ConfigureAwait(false);
        }

        var stats = await server.StatsAsync().ConfigureAwait(false);
        report.ServerAcks = stats.Acks;
        report.ServerNacks = stats.Nacks;
        report.ClientNacks = fleet.ClientNacks;
        report.LastNack = fleet.LastNack ?? stats.LastNackError;
        report.StreamErrors = fleet.StreamErrors;
        report.ConnectRetries = fleet.ConnectRetries;
        report.LastStreamError = fleet.LastStreamError;
        if (o.IsDelta)
        {
            report.RedundantResends ??= fleet.RedundantResends;
        }

        if (report.ClientNacks + report.ServerNacks > 0)
        {
            report.Failures.Add($"NACKs: {report.ClientNacks} by proxies, {report.ServerNacks} seen by the server");
        }

        if (o.IsDelta && fleet.RedundantResends > 0)
        {
            report.Failures.Add($"redundant delta resends: {fleet.RedundantResends} resources re-sent at the version the proxy held");
        }

        if (report.StreamErrors > 0 && o.Scenario != "stalled")
        {
            report.Failures.Add($"{report.StreamErrors} streams failed");
        }

        await fleet.StopAsync().ConfigureAwait(false);
        return report;
    }

    /// <summary>With <c>--check</c>, after a phase whose proxies all converged: every proxy must hold what the
    /// server publishes (<see cref="HeldCheck"/>), else the run fails.</summary>
    private static async Task CheckHeldAsync(LoadOptions o, string phase, SimulatedProxy[] proxies, ServerHandle server, LoadReport report)
    {
        if (!o.Check || report.Failures.Count > 0)
        {
            // Not asked for, or a proxy has not even ACKed the versions: that failure says it already.
            return;
        }

        var failure = await HeldCheck.RunAsync(phase, proxies, server, o.Timeout).ConfigureAwait(false);
        if (failure is null)
        {
            report.HeldChecks.Add($"{phase}: {proxies.Length} proxies");
        }
        else
        {
            report.Failures.Add(failure);
        }
    }

    internal static async Task InitialSyncAsync(LoadOptions o, ProxyFleet fleet, ProcessMonitor monitor, LoadReport report)
    {
        var phase = new Phase(monitor, fleet);
        var start = Stopwatch.GetTimestamp();
        fleet.Start(resume: false);
        var timeout = o.Timeout + TimeSpan.FromMilliseconds(o.Proxies * 10.0);
        var all = await ProxyFleet.WaitAsync(() => fleet.SyncedCount == o.Proxies || monitor.PeakRssMiB > o.MaxServerRssMiB, timeout)
            .ConfigureAwait(false) && fleet.SyncedCount == o.Proxies;
        if (monitor.PeakRssMiB > o.MaxServerRssMiB)
        {
            report.Failures.Add($"stopped: server RSS {monitor.PeakRssMiB:F0} MiB passed --max-server-rss {o.MaxServerRssMiB} MiB");
        }

        report.Phases.Add(phase.End("initial sync"));
        var perProxy = fleet.Proxies.Where(p => p.Synced).Select(p => Milliseconds(p.SyncedAt - start)).ToList();
        report.Synced = perProxy.Count;
        report.InitialSyncMs = Distribution.Of(perProxy);
        report.InitialSyncSeconds = perProxy.Count == 0 ? null : report.InitialSyncMs.Max / 1000;
        if (!all)
        {
            report.Failures.Add($"{o.Proxies - report.Synced}/{o.Proxies} proxies did not ACK the initial config within {timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>Drops every connection, reconnects with what each proxy holds, and waits until the server has every
    /// stream open again and nothing has arrived for two seconds (a delta server that re-sends nothing is silent).</summary>
    private static async Task ReconnectAsync(LoadOptions o, ServerHandle server, ProxyFleet fleet, ProcessMonitor monitor, LoadReport report)
    {
        var phase = new Phase(monitor, fleet);
        var redundant = fleet.RedundantResends;
        var start = Stopwatch.GetTimestamp();
        await fleet.ReconnectAsync().ConfigureAwait(false);
        var deadline = Stopwatch.GetTimestamp() + (long)(o.Timeout.TotalSeconds * Stopwatch.Frequency);
        while (fleet.ConnectedCount < o.Proxies || (await server.StatsAsync().ConfigureAwait(false)).OpenStreams < o.Proxies)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                report.Failures.Add($"only {fleet.ConnectedCount}/{o.Proxies} proxies reopened their stream within {o.Timeout.TotalSeconds:F0} s");
                break;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        var lastActivity = Stopwatch.GetTimestamp();
        var responses = fleet.Responses;
        while (Stopwatch.GetElapsedTime(lastActivity) < TimeSpan.FromSeconds(2) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100).ConfigureAwait(false);
            if (fleet.Responses != responses)
            {
                responses = fleet.Responses;
                lastActivity = Stopwatch.GetTimestamp();
            }
        }

        var measured = phase.End("reconnect (incl. 2 s quiet)");
        report.Phases.Add(measured);
        report.ReconnectSeconds = Milliseconds(lastActivity - start) / 1000;
        var sync = report.Phases.FirstOrDefault(p => p.Name == "initial sync");
        report.ReconnectCpuRatio = sync is { ServerCpuSeconds: > 0 } ? measured.ServerCpuSeconds / sync.ServerCpuSeconds : null;
        report.ReconnectResources = measured.Resources;
        report.ReconnectResourceBytes = measured.ResourceBytes;
        if (o.IsDelta)
        {
            report.RedundantResends = fleet.RedundantResends - redundant;
        }
    }

    private static async Task UpdatesAsync(LoadOptions o, ServerHandle server, ProxyFleet fleet, ProcessMonitor monitor,
        SetupResult setup, LoadReport report)
    {
        var kind = o.Scenario switch { "full-change" => "full-change", "nack" => "bad-cluster", _ => "churn" };
        var phase = new Phase(monitor, fleet);
        var results = new List<UpdateResult>();
        var tick = Stopwatch.GetTimestamp();
        for (var k = 0; k < o.Updates; k++)
        {
            results.Add(await server.UpdateAsync(kind, o.Fraction).ConfigureAwait(false));
            if (k < o.Updates - 1)
            {
                tick += (long)(o.Interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), tick);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait).ConfigureAwait(false);
                }
            }
        }

        var active = fleet.Proxies.Where(p => !p.StallAfterSync).ToArray();
        var final = results[^1].Changed.Select(kv => (Type: XdsType.IndexOf(kv.Key), Version: kv.Value)).ToArray();
        await ProxyFleet.WaitAsync(() => active.All(p => final.All(f => p.AckedVersion(f.Type) == f.Version)), o.Timeout).ConfigureAwait(false);
        report.Phases.Add(phase.End("updates"));

        // Generation of every version the run has seen; a proxy that skipped a version (latest wins) converged on
        // the first later one it ACKed.
        var generation = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var version in setup.Versions.Values)
        {
            generation[version] = 0;
        }

        foreach (var result in results)
        {
            foreach (var version in result.Changed.Values)
            {
                generation[version] = result.Generation;
            }
        }

        var acks = active.Select(p => p.Acks()).ToArray();
        var all = new List<double>();
        foreach (var result in results)
        {
            var types = result.Changed.Keys.Select(XdsType.IndexOf).Where(t => t >= 0).ToArray();
            var latencies = new List<double>();
            foreach (var records in acks)
            {
                var latest = long.MinValue;
                foreach (var type in types)
                {
                    var first = long.MaxValue;
                    foreach (var ack in records)
                    {
                        if (ack.Type == type && generation.TryGetValue(ack.Version, out var g) && g >= result.Generation && ack.Timestamp < first)
                        {
                            first = ack.Timestamp;
                        }
                    }

                    latest = Math.Max(latest, first);
                }

                if (latest != long.MaxValue && types.Length > 0)
                {
                    latencies.Add(Milliseconds(latest - result.SetTimestamp));
                }
            }

            all.AddRange(latencies);
            var update = new UpdateReport(result.Generation, result.ChangedResources, active.Length, Distribution.Of(latencies));
            report.Updates.Add(update);
            if (update.Converged < update.Expected)
            {
                report.Failures.Add($"update {result.Generation}: {update.Expected - update.Converged}/{update.Expected} proxies did not ACK it within {o.Timeout.TotalSeconds:F0} s of the last update");
            }
        }

        report.AllUpdatesMs = Distribution.Of(all);
    }

    internal static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Measures one phase: wall time, server CPU and RSS, client CPU, bytes and responses received.</summary>
    internal sealed class Phase
    {
        private readonly ProcessMonitor _monitor;
        private readonly ProxyFleet _fleet;
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly double _cpu;
        private readonly double _rss;
        private readonly TimeSpan _clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        private readonly long _bytes;
        private readonly long _responses;
        private readonly long _resources;
        private readonly long _resourceBytes;

        public Phase(ProcessMonitor monitor, ProxyFleet fleet)
        {
            _monitor = monitor;
            _fleet = fleet;
            (_cpu, _rss) = monitor.Begin();
            _bytes = fleet.Bytes;
            _responses = fleet.Responses;
            _resources = fleet.Resources;
            _resourceBytes = fleet.ResourceBytes;
        }

        /// <summary>Ends the phase; a line on stderr says so at once (a 10,000-proxy phase can take minutes).</summary>
        public PhaseReport End(string name)
        {
            var report = Measure(name);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[XdsLoad] {DateTime.UtcNow:HH:mm:ss} {name}: {report.WallSeconds:F1} s, server CPU {report.ServerCpuSeconds:F1} s, server RSS peak {report.ServerPeakRssMiB:F0} MiB, tool RSS peak {report.ClientPeakRssMiB:F0} MiB"));
            return report;
        }

        private PhaseReport Measure(string name) => new(
            name,
            Stopwatch.GetElapsedTime(_start).TotalSeconds,
            _monitor.CpuSeconds() - _cpu,
            _rss,
            _monitor.RssMiB(),
            _monitor.PeakRssMiB,
            (Process.GetCurrentProcess().TotalProcessorTime - _clientCpu).TotalSeconds,
            _fleet.Bytes - _bytes,
            _fleet.Responses - _responses,
            ProcessMonitor.ClientRssMiB(),
            _monitor.ClientPeakRssMiB,
            LiveHeapMiB(),
            _fleet.Resources - _resources,
            _fleet.ResourceBytes - _resourceBytes);

        // XDSLOAD_LIVE_HEAP=1 (diagnosis only: a full blocking collection per phase end): the tool's live managed
        // heap instead of the heap size after whatever collection ran last.
        private static double LiveHeapMiB()
        {
            if (Environment.GetEnvironmentVariable("XDSLOAD_LIVE_HEAP") != "1")
            {
                return GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0;
            }

            var live = GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
            var info = GC.GetGCMemoryInfo();
            Console.Error.WriteLine($"[gc] live {live:F0} MiB, committed {info.TotalCommittedBytes / 1048576.0:F0} MiB, heap {info.HeapSizeBytes / 1048576.0:F0}, fragmented {info.FragmentedBytes / 1048576.0:F0}, allocated total {GC.GetTotalAllocatedBytes() / 1048576.0:F0} MiB, RSS {ProcessMonitor.ClientRssMiB():F0}, threads {System.Diagnostics.Process.GetCurrentProcess().Threads.Count}");
            return live;
        }
    }
}
