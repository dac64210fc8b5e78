using System.Collections.Concurrent;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;

namespace XdsLoad;

/// <summary>
/// One configuration change the proxies are watched for: resource <see cref="Name"/> of type <see cref="Type"/> as
/// <see cref="Content"/> says it looks after the change (e.g. a load assignment holding a new endpoint). A proxy
/// records the time of the first response it ACKs that carries the resource in that state
/// (<see cref="SimulatedProxy.HitAt"/>). Matches are memoized per type version (SotW: every proxy with equal
/// content gets an equal version) or per resource version (delta), so a fleet parses each distinct body once.
/// </summary>
internal sealed class ChangeProbe(string label, int type, string name, Func<Any, bool> content)
{
    private readonly ConcurrentDictionary<string, bool> _sotw = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _delta = new(StringComparer.Ordinal);

    /// <summary>What changed, for the report.</summary>
    public string Label { get; } = label;

    public int Type { get; } = type;

    public string Name { get; } = name;

    /// <summary>Whether one resource (already known to be named <see cref="Name"/>, or to be checked for it by the
    /// predicate itself in SotW) is in the changed state.</summary>
    public Func<Any, bool> Content { get; } = content;

    /// <summary>A SotW response of <see cref="Type"/> at <paramref name="version"/> holds the changed resource.</summary>
    public bool MatchesSotw(string version, RepeatedField<Any> resources) =>
        _sotw.GetOrAdd(version, _ => resources.Any(Content));

    /// <summary>A delta resource is the changed one, in its changed state.</summary>
    public bool MatchesDelta(string name, string version, Any? resource) =>
        resource is not null && string.Equals(name, Name, StringComparison.Ordinal) && _delta.GetOrAdd(version, _ => Content(resource));
}
