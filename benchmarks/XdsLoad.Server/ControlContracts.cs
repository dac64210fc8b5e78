namespace XdsLoad.Server;

/// <summary>Body of <c>POST /update</c>: <c>{"kind":"churn","fraction":0.01}</c>, <c>{"kind":"full-change"}</c> or
/// <c>{"kind":"bad-cluster"}</c> (a cluster every proxy must NACK).</summary>
internal sealed record UpdateRequest
{
    public string Kind { get; init; } = "churn";

    public double Fraction { get; init; } = 0.01;
}

/// <summary>Answer of <c>POST /setup</c>: the version and resource count of every type.</summary>
internal sealed record SetupResult(int Generation, Dictionary<string, string> Versions, Dictionary<string, int> Counts);

/// <summary>
/// Answer of <c>POST /update</c>. <see cref="SetTimestamp"/> is <c>Stopwatch.GetTimestamp()</c> taken just before
/// the new state is published. On Linux that is CLOCK_MONOTONIC in nanoseconds, one clock for every process on the
/// machine, so the load tool (on the same machine) can subtract it from its own timestamps.
/// <see cref="Changed"/> holds the new <c>ResourceSet.Version</c> of every type that changed: what a SotW
/// <c>version_info</c> and a delta <c>system_version_info</c> carry (SotwStream / DeltaStream send
/// <c>WatchResponse.Version</c>, which is the set's version).
/// </summary>
internal sealed record UpdateResult(int Generation, long SetTimestamp, long TimestampFrequency, Dictionary<string, string> Changed, int ChangedResources);

/// <summary>Answer of <c>GET /stats</c>.</summary>
internal sealed record StatsResult(string Mode, long Acks, long Nacks, string? LastNackError, int OpenStreams);

/// <summary>What the control API drives: the XdsServer snapshot cache or the floor service.</summary>
internal interface IMeshTarget
{
    SetupResult Setup(MeshShape shape);

    UpdateResult Update(UpdateRequest request);

    StatsResult Stats();
}
