using System.Diagnostics.Metrics;

namespace XdsServer.Cache.Internal;

/// <summary>
/// Instruments of the caches, on the meter <c>XdsServer.Cache</c> made by the <see cref="IMeterFactory"/> a cache
/// was given; none carries a tag. A cache given no factory records nothing (<see cref="None"/>): there is no
/// process-wide meter, so two hosts (or two tests) in one process never count into each other's series. Caches of
/// one host share the factory's meter and, since a meter hands back the instrument it already has for the same
/// name, the same instruments.
/// </summary>
internal sealed class CacheMetrics
{
    public const string MeterName = "XdsServer.Cache";

    /// <summary>Records nothing: the metrics of a cache built without a meter factory.</summary>
    public static readonly CacheMetrics None = new();

    private readonly Counter<long>? _snapshotsSet;
    private readonly Counter<long>? _snapshotsRejected;
    private readonly Counter<long>? _responses;

    private CacheMetrics()
    {
    }

    private CacheMetrics(Meter meter)
    {
        _snapshotsSet = meter.CreateCounter<long>("xds.cache.snapshots_set", description: "Snapshots accepted by snapshot caches");
        _snapshotsRejected = meter.CreateCounter<long>("xds.cache.snapshots_rejected", description: "Snapshots refused as inconsistent");
        _responses = meter.CreateCounter<long>("xds.cache.watch_responses", description: "Watches answered with a response");
    }

    /// <summary>The instruments of <paramref name="factory"/>'s <c>XdsServer.Cache</c> meter, or <see cref="None"/>.</summary>
    public static CacheMetrics For(IMeterFactory? factory) => factory is null ? None : new CacheMetrics(factory.Create(MeterName));

    public void SnapshotSet() => _snapshotsSet?.Add(1);

    public void SnapshotRejected() => _snapshotsRejected?.Add(1);

    public void WatchAnswered() => _responses?.Add(1);
}
