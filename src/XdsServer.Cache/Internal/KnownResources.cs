namespace XdsServer.Cache.Internal;

/// <summary>
/// A client state's per-name exceptions: an immutable map from name to <see cref="KnownResource"/>, built in one go
/// and never changed (a changed state gets a new map). A plain hash table, not a persistent tree: exceptions are
/// short-lived (the next response folds them into the baseline), while a reconnecting delta client brings thousands
/// of them at once (its <c>initial_resource_versions</c>), which a tree builds, looks up and enumerates several times
/// slower and with an allocation per entry. The price is an O(exceptions) copy when a state that still has
/// exceptions changes again before its next response, which is rare and small.
/// </summary>
internal sealed class KnownResources
{
    private readonly Dictionary<string, KnownResource> _map;

    private KnownResources(Dictionary<string, KnownResource> map) => _map = map;

    /// <summary>No exceptions.</summary>
    public static KnownResources Empty { get; } = new(new Dictionary<string, KnownResource>(0, StringComparer.Ordinal));

    public int Count => _map.Count;

    public bool IsEmpty => _map.Count == 0;

    public Dictionary<string, KnownResource>.KeyCollection Keys => _map.Keys;

    /// <summary>A map of <paramref name="builder"/>, which the caller must not change afterwards.</summary>
    public static KnownResources From(Dictionary<string, KnownResource> builder) =>
        builder.Count == 0 ? Empty : new KnownResources(builder);

    /// <summary>A new, changeable copy (sized for <paramref name="extra"/> more entries) to build the next map from.</summary>
    public Dictionary<string, KnownResource> ToBuilder(int extra = 0)
    {
        var builder = new Dictionary<string, KnownResource>(_map.Count + extra, StringComparer.Ordinal);
        foreach (var (name, known) in _map)
        {
            builder[name] = known;
        }

        return builder;
    }

    public bool TryGetValue(string name, out KnownResource known) => _map.TryGetValue(name, out known);

    public bool ContainsKey(string name) => _map.ContainsKey(name);

    public Dictionary<string, KnownResource>.Enumerator GetEnumerator() => _map.GetEnumerator();
}
