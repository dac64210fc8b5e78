using System.Globalization;
using System.Text;
using System.Text.Json;

namespace XdsLoad;

/// <summary>Server and client cost of one phase (initial sync, reconnect, updates).</summary>
/// <remarks>Client figures are the load tool's own: CPU, RSS at the end and its peak in the phase, and its GC heap after
/// the last collection (<see cref="GCMemoryInfo.HeapSizeBytes"/>).</remarks>
internal sealed record PhaseReport(string Name, double WallSeconds, double ServerCpuSeconds, double ServerRssStartMiB,
    double ServerRssEndMiB, double ServerPeakRssMiB, double ClientCpuSeconds, long BytesReceived, long Responses,
    double ClientRssEndMiB, double ClientPeakRssMiB, double ClientHeapMiB, long Resources, long ResourceBytes);

/// <summary>Latency over proxies, in milliseconds.</summary>
internal sealed record Distribution(int Count, double P50, double P99, double Max)
{
    public static Distribution Of(List<double> values)
    {
        if (values.Count == 0)
        {
            return new Distribution(0, double.NaN, double.NaN, double.NaN);
        }

        values.Sort();
        double Rank(double p) => values[Math.Clamp((int)Math.Ceiling(p * values.Count) - 1, 0, values.Count - 1)];
        return new Distribution(values.Count, Rank(0.50), Rank(0.99), values[^1]);
    }
}

/// <summary>One update: its convergence from the server's set timestamp to each subscribed proxy's ACK.</summary>
internal sealed record UpdateReport(int Generation, int ChangedResources, int Expected, Distribution ConvergenceMs)
{
    public int Converged => ConvergenceMs.Count;
}

/// <summary>One MeshHost change: convergence over the proxies that must receive it (from just before the file was
/// renamed into place to each one's ACK of a response holding the changed resource), and what the whole change cost
/// until the host was idle again: server CPU, responses to every proxy, and how many proxies got any response
/// (pushed), how many of them needed none (outside the expected set).</summary>
internal sealed record ChangeReport(string Label, string Resource, int Expected, Distribution ConvergenceMs, double WallSeconds,
    double ServerCpuSeconds, long Responses, long BytesReceived, int ProxiesPushed, int PushedOutsideExpected, string PushedByNamespace)
{
    public int Converged => ConvergenceMs.Count;
}

/// <summary>The SDK-only churn run next to a MeshHost run: one load assignment per update.</summary>
internal sealed record SdkComparison(int Updates, double UpdatesServerCpuSeconds, double ServerCpuPerUpdate, double InitialSyncServerCpuSeconds,
    long InitialSyncBytes, double? InitialSyncSeconds, Distribution? ConvergenceMs, double MeshHostEndpointCpu, double Ratio, bool Passed);

/// <summary>Everything one run measured.</summary>
internal sealed record LoadReport
{
    public required string Scenario { get; init; }

    public required string Protocol { get; init; }

    public required string ServerMode { get; init; }

    public required int Proxies { get; init; }

    public required int StreamsPerConnection { get; init; }

    public required int Services { get; init; }

    public required string StartedUtc { get; init; }

    public required Dictionary<string, int> ResourceCounts { get; init; }

    public List<PhaseReport> Phases { get; } = [];

    public double? InitialSyncSeconds { get; set; }

    public Distribution? InitialSyncMs { get; set; }

    public int Synced { get; set; }

    /// <summary>Reconnect: from dropping every connection to the last response it caused (or to every stream open
    /// again on the server when none came).</summary>
    public double? ReconnectSeconds { get; set; }

    /// <summary>Reconnect: the server's CPU seconds in the reconnect phase over its CPU seconds in the initial sync
    /// (issue target for a delta reconnect whose versions are all current: below 0.1).</summary>
    public double? ReconnectCpuRatio { get; set; }

    /// <summary>Reconnect: resources the proxies received in the reconnect phase (delta with current versions: 0).</summary>
    public long? ReconnectResources { get; set; }

    /// <summary>Reconnect: bytes of those resources' bodies.</summary>
    public long? ReconnectResourceBytes { get; set; }

    public List<UpdateReport> Updates { get; } = [];

    public Distribution? AllUpdatesMs { get; set; }

    public int StalledProxies { get; set; }

    public long ClientNacks { get; set; }

    public long ServerNacks { get; set; }

    public long ServerAcks { get; set; }

    public string? LastNack { get; set; }

    public long StreamErrors { get; set; }

    public string? LastStreamError { get; set; }

    public long? RedundantResends { get; set; }

    /// <summary>Streams that failed before any response (no connection) and were retried; not a failure by itself.</summary>
    public long ConnectRetries { get; set; }

    public List<string> Failures { get; } = [];

    /// <summary>Phases after which every proxy held exactly what the server published (<c>--check</c>).</summary>
    public List<string> HeldChecks { get; } = [];

    /// <summary>MeshHost mode: the generated mesh, in words.</summary>
    public string? Mesh { get; set; }

    /// <summary>MeshHost mode: server CPU seconds per second while nothing changes (the manifest rescan and timers).</summary>
    public double? ServerIdleCpuPerSecond { get; set; }

    public List<ChangeReport> Changes { get; } = [];

    public SdkComparison? Sdk { get; set; }

    public bool Passed => Failures.Count == 0;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(c, $"XdsLoad {Scenario}: {Proxies} proxies, {Protocol}, server {ServerMode}, {StreamsPerConnection} stream(s)/connection, started {StartedUtc}");
        if (Mesh is not null)
        {
            s.AppendLine(c, $"mesh: {Mesh}");
        }

        s.AppendLine(c, $"resources: {string.Join(", ", ResourceCounts.Select(kv => $"{kv.Key[(kv.Key.LastIndexOf('.') + 1)..]} {kv.Value}"))}");
        s.AppendLine();
        s.AppendLine("| phase | wall s | server CPU s | server RSS start/end/peak MiB | client CPU s | client RSS end/peak MiB, GC heap | bytes received | responses | resources (body bytes) |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in Phases)
        {
            s.AppendLine(c, $"| {p.Name} | {p.WallSeconds:F2} | {p.ServerCpuSeconds:F2} | {p.ServerRssStartMiB:F0} / {p.ServerRssEndMiB:F0} / {p.ServerPeakRssMiB:F0} | {p.ClientCpuSeconds:F2} | {p.ClientRssEndMiB:F0} / {p.ClientPeakRssMiB:F0}, {p.ClientHeapMiB:F0} | {p.BytesReceived:N0} | {p.Responses:N0} | {p.Resources:N0} ({p.ResourceBytes:N0}) |");
        }

        s.AppendLine();
        if (InitialSyncMs is { } sync)
        {
            s.AppendLine(c, $"initial sync: {Synced}/{Proxies} proxies ACKed the whole config; all in {InitialSyncSeconds:F2} s (per proxy p50 {sync.P50:F0} ms, p99 {sync.P99:F0} ms)");
        }

        if (ReconnectSeconds is { } reconnect)
        {
            s.AppendLine(c, $"reconnect: every stream reopened and re-synced {reconnect:F2} s after all connections dropped; server CPU {ReconnectCpuRatio:P1} of the initial sync's; resources re-sent {ReconnectResources:N0} ({ReconnectResourceBytes:N0} bytes)");
        }

        if (Updates.Count > 0)
        {
            s.AppendLine();
            s.AppendLine("| update | changed | converged | p50 ms | p99 ms | max ms |");
            s.AppendLine("|---:|---:|---:|---:|---:|---:|");
            foreach (var u in Updates)
            {
                s.AppendLine(c, $"| {u.Generation} | {u.ChangedResources} | {u.Converged}/{u.Expected} | {u.ConvergenceMs.P50:F1} | {u.ConvergenceMs.P99:F1} | {u.ConvergenceMs.Max:F1} |");
            }

            if (AllUpdatesMs is { } all)
            {
                s.AppendLine(c, $"| all | | {all.Count} | {all.P50:F1} | {all.P99:F1} | {all.Max:F1} |");
            }
        }

        if (Changes.Count > 0)
        {
            s.AppendLine();
            s.AppendLine(c, $"server idle CPU: {ServerIdleCpuPerSecond:F3} s per s (included in each change's server CPU)");
            s.AppendLine("| change | resource | converged | p50 ms | p99 ms | max ms | wall s | server CPU s | responses | bytes | proxies pushed | pushed, not needing it | pushed by namespace |");
            s.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var u in Changes)
            {
                s.AppendLine(c, $"| {u.Label} | {u.Resource} | {u.Converged}/{u.Expected} | {u.ConvergenceMs.P50:F0} | {u.ConvergenceMs.P99:F0} | {u.ConvergenceMs.Max:F0} | {u.WallSeconds:F2} | {u.ServerCpuSeconds:F2} | {u.Responses:N0} | {u.BytesReceived:N0} | {u.ProxiesPushed} | {u.PushedOutsideExpected} | {u.PushedByNamespace} |");
            }
        }

        if (Sdk is { } sdk)
        {
            s.AppendLine();
            s.AppendLine(c, $"SDK-only churn, same proxies and protocol ({sdk.Updates} updates of one load assignment each): initial sync {sdk.InitialSyncSeconds:F2} s, {sdk.InitialSyncServerCpuSeconds:F2} server CPU s, {sdk.InitialSyncBytes:N0} bytes; updates {sdk.UpdatesServerCpuSeconds:F2} server CPU s = {sdk.ServerCpuPerUpdate:F3} s per update; convergence p50 {sdk.ConvergenceMs?.P50:F1} ms, p99 {sdk.ConvergenceMs?.P99:F1} ms{(sdk.Passed ? "" : " (that run FAILED its check)")}");
            s.AppendLine(c, $"ratio, server CPU of one endpoint change: MeshHost {sdk.MeshHostEndpointCpu:F3} s (mean over endpoint changes) / SDK-only {sdk.ServerCpuPerUpdate:F3} s = {sdk.Ratio:F1}x");
        }

        s.AppendLine();
        if (StalledProxies > 0)
        {
            s.AppendLine(c, $"stalled proxies (excluded from convergence): {StalledProxies}");
        }

        if (RedundantResends is { } redundant)
        {
            s.AppendLine(c, $"delta resources re-sent at a version the proxy held: {redundant}");
        }

        if (HeldChecks.Count > 0)
        {
            s.AppendLine(c, $"held resources equal what the server published after {string.Join(", ", HeldChecks)}");
        }

        s.AppendLine(Scenario == "meshhost"
            ? string.Create(c, $"NACKs: client {ClientNacks} (the MeshHost counts none){(LastNack is null ? "" : $"; last: {LastNack}")}")
            : string.Create(c, $"NACKs: client {ClientNacks}, server {ServerNacks} (server ACKs {ServerAcks}){(LastNack is null ? "" : $"; last: {LastNack}")}"));
        if (ConnectRetries > 0)
        {
            s.AppendLine(c, $"connect retries (a stream failed UNAVAILABLE before any response and was retried): {ConnectRetries}");
        }

        s.AppendLine(c, $"stream errors: {StreamErrors}{(LastStreamError is null ? "" : $"; last: {LastStreamError}")}");
        s.AppendLine(Passed ? "check: passed" : $"check: FAILED: {string.Join("; ", Failures)}");
        return s.ToString();
    }
}
