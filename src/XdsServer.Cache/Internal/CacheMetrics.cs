using System.Diagnostics.Metrics;

namespace XdsServer.Cache.Internal;

/// <summary>Instruments of the caches, on the meter <c>XdsServer.Cache</c>.</summary>
internal static class CacheMetrics
{
    public static readonly Meter Meter = new("XdsServer.Cache");

    public static readonly Counter<long> SnapshotsSet =
        Meter.CreateCounter<long>("xds.cache.snapshots_set", description: "Snapshots accepted by snapshot caches");

    public static readonly Counter<long> SnapshotsRejected =
        Meter.CreateCounter<long>("xds.cache.snapshots_rejected", description: "Snapshots refused as inconsistent");

    public static readonly Counter<long> Responses =
        Meter.CreateCounter<long>("xds.cache.watch_responses", description: "Watches answered with a response");
}
