namespace XdsServer.Cache;

/// <summary>
/// What a stream should send for one type: computed by a cache against a <see cref="ClientState"/>, sent
/// by the stream's own writer (the cache never sends), then recorded with <see cref="ClientState.ApplyResponse"/>.
/// </summary>
public sealed class WatchResponse
{
    internal WatchResponse(ClientState state, ResourceSet source, IReadOnlyList<XdsResource> resources,
        IReadOnlyList<string> removedNames)
    {
        State = state;
        Source = source;
        Resources = resources;
        RemovedNames = removedNames;
    }

    /// <summary>The client state the response was computed from.</summary>
    public ClientState State { get; }

    /// <summary>The resource set the response was computed against.</summary>
    public ResourceSet Source { get; }

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

    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsDelta ? "delta" : "sotw")} {Source.Type.ShortName} v{Version}: {Resources.Count} resource(s), {RemovedNames.Count} removed";
}
