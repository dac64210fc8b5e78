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

/// <summary>One published resource in <c>GET /published</c>: the version a delta response carries for it and a digest
/// of its bytes (the first 8 bytes of the SHA-256 of the serialized resource, lower-case hex), which a SotW client can
/// compute from what it received.</summary>
internal sealed record PublishedResource(string Version, string Digest);

/// <summary>Answer of <c>GET /published</c>: per type URL, every resource of the current snapshot by name.</summary>
internal sealed record PublishedResult(int Generation, Dictionary<string, Dictionary<string, PublishedResource>> Types)
{
    public static PublishedResult Of(XdsServer.Cache.Snapshot snapshot, int generation) => new(
        generation,
        snapshot.ResourceSets.ToDictionary(
            s => s.TypeUrl,
            s => s.ToDictionary(r => r.Name, r => new PublishedResource(r.Version, Digest(r.Packed.Value.Span)), StringComparer.Ordinal),
            StringComparer.Ordinal));

    public static string Digest(ReadOnlySpan<byte> bytes) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)[..8]);
}

/// <summary>What the control API drives: the XdsServer snapshot cache or the floor service.</summary>
internal interface IMeshTarget
{
    SetupResult Setup(MeshShape shape);

    UpdateResult Update(UpdateRequest request);

    StatsResult Stats();

    /// <summary>The resources of the current snapshot (what every proxy must hold once it has converged).</summary>
    PublishedResult Published();
}
