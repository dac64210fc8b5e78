using System.Diagnostics;
using System.Globalization;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf.WellKnownTypes;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace XdsLoad;

/// <summary>
/// The MeshHost mode: writes the mesh (<see cref="MeshManifests"/>), starts examples/MeshHost on it, connects the
/// proxies as Istio sidecars of the generated pods, waits for the initial sync, measures the host's idle CPU, then
/// makes one change at a time and measures each until the host is idle again:
/// <list type="number">
/// <item>endpoint (× <c>--updates</c>): the extra pod of svc-0 flips ready / not ready; must reach every proxy
/// subscribed to svc-0's load assignment, whose body then holds (or no longer holds) the pod's IP;</item>
/// <item>VirtualService: svc-0's route timeout 5 s → 7 s; must reach the same proxies, in route configuration "80";</item>
/// <item>new service: svc-new in ns-0; must reach ns-0's proxies with scoping, every proxy without, as a Cluster.</item>
/// </list>
/// </summary>
internal static class MeshHostRunner
{
    public static async Task<LoadReport> RunAsync(LoadOptions o)
    {
        var keep = o.ManifestsDir is not null;
        var folder = Path.GetFullPath(o.ManifestsDir ?? Path.Combine(Path.GetTempPath(), $"xdsload-mesh-{Environment.ProcessId}"));
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new ArgumentException($"the manifests folder {folder} is not empty");
        }

        var mesh = new MeshManifests(folder, o.Services, o.Namespaces, o.PodsPerService, o.SidecarScoping);
        if (o.Proxies > o.Services * o.PodsPerService)
        {
            throw new ArgumentException($"{o.Proxies} proxies need as many pods: --services × --pods-per-service is {o.Services * o.PodsPerService}");
        }

        mesh.Write();
        try
        {
            var report = await RunOnFolderAsync(o, mesh).ConfigureAwait(false);
            if (o.CompareSdk)
            {
                await CompareSdkAsync(o, report).ConfigureAwait(false);
            }

            return report;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<LoadReport> RunOnFolderAsync(LoadOptions o, MeshManifests mesh)
    {
        var started = DateTime.UtcNow;
        await using var host = await MeshHostHandle.StartAsync(o.MeshHostDll, mesh.Directory, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        using var monitor = new ProcessMonitor(host.Pid);
        var report = new LoadReport
        {
            Scenario = "meshhost",
            Protocol = o.Protocol,
            ServerMode = $"MeshHost, sidecar scoping {(o.SidecarScoping ? "on" : "off")}",
            Proxies = o.Proxies,
            StreamsPerConnection = o.StreamsPerConnection,
            Services = o.Services,
            StartedUtc = started.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
            ResourceCounts = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                ["namespaces"] = o.Namespaces,
                ["services"] = o.Services,
                ["pods"] = o.Services * o.PodsPerService,
            },
            Mesh = $"{o.Services} services in {o.Namespaces} namespaces, {o.PodsPerService} ready pods each, port {MeshManifests.Port} (HTTP); "
                + (o.SidecarScoping ? "a Sidecar per namespace: egress ./* and istio-system/*" : "no Sidecar (every proxy sees every service)"),
        };

        var pods = Enumerable.Range(0, o.Proxies).Select(mesh.PodOf).ToArray();
        await using var fleet = new ProxyFleet(o, host.GrpcUrl, initialVersions: null, i => MeshManifests.NodeOf(pods[i]));
        await ScenarioRunner.InitialSyncAsync(o, fleet, monitor, report).ConfigureAwait(false);
        if (report.Synced == o.Proxies)
        {
            var first = fleet.Proxies[0];
            report.Mesh += $"; proxy 0 ({pods[0].Name}.{pods[0].Namespace}) subscribes to {first.SubscribedCount(XdsType.Endpoint)} load assignments"
                + $" and {first.SubscribedCount(XdsType.Route)} route configurations";
            report.ServerIdleCpuPerSecond = await IdleCpuAsync(monitor).ConfigureAwait(false);
            await ChangesAsync(o, mesh, fleet, pods, monitor, report).ConfigureAwait(false);
        }

        report.ClientNacks = fleet.ClientNacks;
        report.LastNack = fleet.LastNack;
        report.StreamErrors = fleet.StreamErrors;
        report.ConnectRetries = fleet.ConnectRetries;
        report.LastStreamError = fleet.LastStreamError;
        if (report.ClientNacks > 0)
        {
            report.Failures.Add($"NACKs: {report.ClientNacks} by proxies");
        }

        if (report.StreamErrors > 0)
        {
            report.Failures.Add($"{report.StreamErrors} streams failed");
        }

        if (!report.Passed)
        {
            Console.Error.WriteLine($"XdsLoad: MeshHost's last lines:\n{host.Tail}");
        }

        await fleet.StopAsync().ConfigureAwait(false);
        return report;
    }

    /// <summary>Server CPU per second over 3 s in which nothing changes, once the host has settled (a 1 s window
    /// under 0.1 CPU s, at most 30 s: a finished sync still collects garbage for a while).</summary>
    private static async Task<double> IdleCpuAsync(ProcessMonitor monitor)
    {
        var settle = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(settle) < TimeSpan.FromSeconds(30))
        {
            var before = monitor.CpuSeconds();
            await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            if (monitor.CpuSeconds() - before < 0.1)
            {
                break;
            }
        }

        var cpu = monitor.CpuSeconds();
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        return (monitor.CpuSeconds() - cpu) / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static async Task ChangesAsync(LoadOptions o, MeshManifests mesh, ProxyFleet fleet, MeshPod[] pods, ProcessMonitor monitor, LoadReport report)
    {
        var changedCluster = MeshManifests.OutboundCluster(MeshManifests.ChangedService, mesh.ChangedNamespace);
        // The proxies that see svc-0: those subscribed to its load assignment after the initial sync.
        var seeing = fleet.Proxies.Where(p => p.Subscribes(XdsType.Endpoint, changedCluster)).Select(p => p.Index).ToHashSet();
        var ready = false;
        for (var k = 0; k < o.Updates; k++)
        {
            ready = !ready;
            var want = ready;
            var ip = MeshManifests.FlipPodIp;
            var probe = new ChangeProbe($"endpoint {k + 1}: svc-0 pod {(want ? "ready" : "not ready")}", XdsType.Endpoint, changedCluster,
                any => HoldsEndpoint(any, changedCluster, ip) == want);
            await ChangeAsync(o, fleet, pods, monitor, report, probe, seeing, () => mesh.WriteFlipPod(want)).ConfigureAwait(false);
        }

        var host = MeshManifests.Host(MeshManifests.ChangedService, mesh.ChangedNamespace);
        var vs = new ChangeProbe("VirtualService: svc-0 timeout 5 s → 7 s", XdsType.Route, MeshManifests.Port.ToString(CultureInfo.InvariantCulture),
            any => RouteTimeout(any, MeshManifests.Port.ToString(CultureInfo.InvariantCulture), host) == 7);
        await ChangeAsync(o, fleet, pods, monitor, report, vs, seeing, () => mesh.WriteVirtualService(7)).ConfigureAwait(false);

        var newCluster = MeshManifests.OutboundCluster(MeshManifests.NewService, mesh.ChangedNamespace);
        var inNamespace = Enumerable.Range(0, pods.Length)
            .Where(i => !o.SidecarScoping || pods[i].Namespace == mesh.ChangedNamespace).ToHashSet();
        var added = new ChangeProbe($"new service svc-new in {mesh.ChangedNamespace}", XdsType.Cluster, newCluster, any => IsCluster(any, newCluster));
        await ChangeAsync(o, fleet, pods, monitor, report, added, inNamespace, mesh.WriteNewService).ConfigureAwait(false);
    }

    /// <summary>Makes one change and measures it: convergence of <paramref name="expected"/> (proxy indexes), then
    /// waits until the host is idle (no response for 1 s and its CPU back near idle) before closing the phase.</summary>
    private static async Task ChangeAsync(LoadOptions o, ProxyFleet fleet, MeshPod[] pods, ProcessMonitor monitor, LoadReport report,
        ChangeProbe probe, HashSet<int> expected, Action write)
    {
        var before = fleet.Proxies.Select(p => p.ResponseCount).ToArray();
        fleet.Probe = probe;
        var phase = new ScenarioRunner.Phase(monitor, fleet);
        var start = Stopwatch.GetTimestamp();
        write();
        var targets = expected.Select(i => fleet.Proxies[i]).ToArray();
        await ProxyFleet.WaitAsync(() => targets.All(p => p.HitAt(probe) is not null), o.Timeout).ConfigureAwait(false);
        await WaitIdleAsync(fleet, monitor, report.ServerIdleCpuPerSecond ?? 0, o.Timeout).ConfigureAwait(false);
        var measured = phase.End(probe.Label);
        report.Phases.Add(measured);
        fleet.Probe = null;

        var latencies = targets.Select(p => p.HitAt(probe)).OfType<long>().Select(t => ScenarioRunner.Milliseconds(t - start)).ToList();
        var pushed = Enumerable.Range(0, fleet.Proxies.Length).Where(i => fleet.Proxies[i].ResponseCount > before[i]).ToList();
        var byNamespace = pods.Select((pod, i) => (pod.Namespace, Pushed: fleet.Proxies[i].ResponseCount > before[i]))
            .GroupBy(x => x.Namespace)
            .Select(g => (Namespace: g.Key, Pushed: g.Count(x => x.Pushed), Total: g.Count()))
            .ToList();
        var withPushes = byNamespace.Where(n => n.Pushed > 0).ToList();
        var summary = withPushes.Count == 0 ? "none"
            : withPushes.Count <= 3 ? string.Join(", ", withPushes.Select(n => $"{n.Namespace} {n.Pushed}/{n.Total}"))
            : $"{withPushes.Count}/{byNamespace.Count} namespaces, {withPushes.Sum(n => n.Pushed)}/{pods.Length} proxies";
        var change = new ChangeReport(probe.Label, $"{XdsType.ShortNames[probe.Type]} {probe.Name}", targets.Length, Distribution.Of(latencies),
            measured.WallSeconds, measured.ServerCpuSeconds, measured.Responses, measured.BytesReceived, pushed.Count,
            pushed.Count(i => !expected.Contains(i)), summary);
        report.Changes.Add(change);
        if (change.Converged < change.Expected)
        {
            report.Failures.Add($"{probe.Label}: {change.Expected - change.Converged}/{change.Expected} proxies did not receive it within {o.Timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>Waits until no proxy has read a response for 1 s and the host's CPU over the last second is back
    /// near its idle rate (a push that regenerates proxies without sending anything still costs CPU).</summary>
    private static async Task WaitIdleAsync(ProxyFleet fleet, ProcessMonitor monitor, double idlePerSecond, TimeSpan timeout)
    {
        var threshold = Math.Max(0.1, 2 * idlePerSecond);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var responses = fleet.Responses;
        var lastResponse = Stopwatch.GetTimestamp();
        var window = new Queue<(long At, double Cpu)>();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100).ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            if (fleet.Responses != responses)
            {
                responses = fleet.Responses;
                lastResponse = now;
            }

            window.Enqueue((now, monitor.CpuSeconds()));
            while (window.Count > 1 && ScenarioRunner.Milliseconds(now - window.Peek().At) > 1000)
            {
                window.Dequeue();
            }

            var span = ScenarioRunner.Milliseconds(now - window.Peek().At) / 1000;
            if (ScenarioRunner.Milliseconds(now - lastResponse) >= 1000 && span >= 0.9
                && (window.Last().Cpu - window.Peek().Cpu) / span < threshold)
            {
                return;
            }
        }
    }

    /// <summary>Whether <paramref name="any"/> is <paramref name="cluster"/>'s load assignment, holding
    /// <paramref name="ip"/>; null when it is another resource.</summary>
    private static bool? HoldsEndpoint(Any any, string cluster, string ip)
    {
        var assignment = ClusterLoadAssignment.Parser.ParseFrom(any.Value);
        if (assignment.ClusterName != cluster)
        {
            return null;
        }

        return assignment.Endpoints.SelectMany(l => l.LbEndpoints).Any(e => e.Endpoint?.Address?.SocketAddress?.Address == ip);
    }

    /// <summary>The timeout (seconds) of the first route of <paramref name="host"/>'s virtual host in route
    /// configuration <paramref name="name"/>; null when it is another resource or has none.</summary>
    private static long? RouteTimeout(Any any, string name, string host)
    {
        var config = RouteConfiguration.Parser.ParseFrom(any.Value);
        if (config.Name != name)
        {
            return null;
        }

        var virtualHost = config.VirtualHosts.FirstOrDefault(v => v.Domains.Contains(host));
        return virtualHost?.Routes.FirstOrDefault()?.Route_?.Timeout?.Seconds;
    }

    private static bool IsCluster(Any any, string name) => ClusterProto.Parser.ParseFrom(any.Value).Name == name;

    /// <summary>The SDK-only churn at the same proxies and protocol (XdsLoad.Server, mesh-10k shape), one load
    /// assignment per update: the reference for the endpoint change's server CPU.</summary>
    private static async Task CompareSdkAsync(LoadOptions o, LoadReport report)
    {
        var endpoint = report.Changes.Where(c => c.Label.StartsWith("endpoint", StringComparison.Ordinal)).ToList();
        if (endpoint.Count == 0)
        {
            report.Failures.Add("--compare-sdk: no endpoint change was measured");
            return;
        }

        var updates = 10;
        var sdk = await ScenarioRunner.RunAsync(o with
        {
            Server = "sdk",
            Scenario = "churn",
            Updates = updates,
            Fraction = 1.0 / o.Services,
            Interval = TimeSpan.FromSeconds(1),
        }).ConfigureAwait(false);
        Console.Error.WriteLine(sdk.ToTable());
        var sync = sdk.Phases.FirstOrDefault(p => p.Name == "initial sync");
        var phase = sdk.Phases.FirstOrDefault(p => p.Name == "updates");
        var perUpdate = phase is null ? double.NaN : phase.ServerCpuSeconds / updates;
        var mesh = endpoint.Average(c => c.ServerCpuSeconds);
        report.Sdk = new SdkComparison(updates, phase?.ServerCpuSeconds ?? double.NaN, perUpdate, sync?.ServerCpuSeconds ?? double.NaN,
            sync?.BytesReceived ?? 0, sdk.InitialSyncSeconds, sdk.AllUpdatesMs, mesh, mesh / perUpdate, sdk.Passed);
    }
}
