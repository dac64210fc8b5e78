namespace XdsServer.Cache;

/// <summary>
/// What a stream should send for one type: computed by a cache against a <see cref="ClientState"/>, sent
/// by the stream's own writer (the cache never sends), then recorded with <see cref="ClientState.ApplyResponse"/>.
/// </summary>
public sealed class WatchResponse
{
    internal WatchResponse(ClientState state, ResourceSet source, Snapshot? snapshot, IReadOnlyList<XdsResource> resources,
        IReadOnlyList<string> removedNames, IReadOnlyList<XdsResource>? retained = null, long computedAt = 0,
        bool alreadyHeld = false)
    {
        _alreadyHeld = alreadyHeld;
        State = state;
        Source = source;
        Snapshot = snapshot;
        Resources = resources;
        RemovedNames = removedNames;
        Retained = retained ?? [];
        ComputedAt = computedAt == 0 ? System.Diagnostics.Stopwatch.GetTimestamp() : computedAt;
    }

    private readonly bool _alreadyHeld;

    /// <summary>The client state the response was computed from.</summary>
    public ClientState State { get; }

    /// <summary>The resource set the response was computed against.</summary>
    public ResourceSet Source { get; }

    /// <summary>
    /// The snapshot <see cref="Source"/> was taken from, when the cache serves whole snapshots (<see cref="SnapshotCache"/>);
    /// null from a cache of one type (<see cref="LinearCache"/>). A server orders an ADS push by it: a resource of an
    /// earlier type that this response references will be sent by the same update exactly when this snapshot holds it.
    /// </summary>
    public Snapshot? Snapshot { get; }

    /// <summary>The type URL.</summary>
    public string TypeUrl => Source.TypeUrl;

    /// <summary>The version to send: a SotW <c>version_info</c>, or a delta <c>system_version_info</c>.</summary>
    public string Version => Source.Version;

    /// <summary>True for a delta response.</summary>
    public bool IsDelta => State.IsDelta;

    /// <summary>The resources to send. In SotW for Listener and Cluster, every subscribed resource (full
    /// state); otherwise only those the client lacks or holds at another version.</summary>
    public IReadOnlyList<XdsResource> Resources { get; }

    /// <summary>Delta only: subscribed names that do not exist (any more), for <c>removed_resources</c>.</summary>
    public IReadOnlyList<string> RemovedNames { get; }

    /// <summary>
    /// True when there is nothing to send: the delta client (described by per-name exceptions, such as a delta
    /// reconnect's <c>initial_resource_versions</c>) already holds exactly what <see cref="Source"/> has. Do not
    /// send it; record it with <see cref="ClientState.ApplyResponse"/>, so the state holds the source set as one
    /// reference instead of a version per name, and watch again. In state of the world the one such answer is for a
    /// reconnecting Listener/Cluster wildcard client whose first <c>version_info</c> is the set's version: it holds
    /// that set, and recording it lets the server know which resources the client has (what a later type may
    /// reference). Any other state-of-the-world answer without resources is a Listener/Cluster state of the world
    /// that has none (the first answer of an empty set, or the last resource removed), and the client must be told.
    /// </summary>
    public bool IsEmpty => _alreadyHeld || (IsDelta && Resources.Count == 0 && RemovedNames.Count == 0);

    /// <summary>Resources kept although the source set no longer has them (see <see cref="Retaining"/>).</summary>
    public IReadOnlyList<XdsResource> Retained { get; }

    /// <summary>When the response was computed (a <see cref="System.Diagnostics.Stopwatch"/> timestamp): the
    /// moment a snapshot update reached this watch, for push-latency measurements.</summary>
    public long ComputedAt { get; }

    /// <summary>
    /// Returns this response with some removals deferred ("break after make"): the named resources, which
    /// the client holds and the source set no longer has, stay with the client for now. In SotW their held
    /// versions are carried again (a Listener/Cluster response deletes by absence); in delta they are left
    /// out of <c>removed_resources</c>. After <see cref="ClientState.ApplyResponse"/> the client state still
    /// holds them, so a later evaluation of an unchanged snapshot removes them.
    /// </summary>
    /// <param name="names">Names to keep; names the client does not hold, or whose held resource is not
    /// known, are ignored.</param>
    public WatchResponse Retaining(IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0)
        {
            return this;
        }

        var retained = new List<XdsResource>();
        foreach (var name in names)
        {
            if (!Source.Contains(name) && State.GetHeld(name) is { } held)
            {
                retained.Add(held);
            }
        }

        if (retained.Count == 0)
        {
            return this;
        }

        var keep = retained.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        return IsDelta
            ? new WatchResponse(State, Source, Snapshot, Resources, [.. RemovedNames.Where(n => !keep.Contains(n))], retained, ComputedAt)
            : new WatchResponse(State, Source, Snapshot, [.. Resources.Concat(retained).OrderBy(r => r.Name, StringComparer.Ordinal)],
                RemovedNames, retained, ComputedAt);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsDelta ? "delta" : "sotw")} {Source.Type.ShortName} v{Version}: {Resources.Count} resource(s), {RemovedNames.Count} removed";
}
