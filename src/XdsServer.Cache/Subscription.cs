using System.Collections.Immutable;
using XdsServer.Cache.Internal;

namespace XdsServer.Cache;

/// <summary>
/// What one client subscribes to for one resource type: a wildcard, names, or both. Immutable; requests
/// produce new instances. Follows the xDS protocol page ("How the client specifies what resources to
/// return"), including the legacy wildcard: until a client has ever named a resource, an empty request
/// for a wildcard-capable type means "*".
/// </summary>
public sealed class Subscription
{
    /// <summary>The special name that subscribes to every resource of the type.</summary>
    public const string WildcardName = "*";

    private static readonly IReadOnlyCollection<string> NoNames = [];

    private readonly long _contentKey;

    private Subscription(bool isWildcard, ImmutableHashSet<string> names, bool hasNamedResources, long contentKey)
    {
        IsWildcard = isWildcard;
        Names = names;
        HasNamedResources = hasNamedResources;
        _contentKey = contentKey;
    }

    /// <summary>No subscription yet.</summary>
    public static Subscription None { get; } = new(false, ImmutableHashSet.Create<string>(StringComparer.Ordinal), false, NameSets.Key(0, 0));

    /// <summary>True when subscribed to every resource of the type.</summary>
    public bool IsWildcard { get; }

    /// <summary>The names subscribed to explicitly (without <c>"*"</c>).</summary>
    public IReadOnlySet<string> Names { get; }

    /// <summary>True once the client has sent a request naming resources: from then on the legacy wildcard
    /// no longer applies and an empty subscription means "nothing".</summary>
    public bool HasNamedResources { get; }

    /// <summary>True when neither a wildcard nor any name is subscribed.</summary>
    public bool IsEmpty => !IsWildcard && Names.Count == 0;

    /// <summary>True when <paramref name="name"/> is covered by the wildcard or named explicitly.</summary>
    public bool Covers(string name) => IsWildcard || Names.Contains(name);

    internal ImmutableHashSet<string> NameSet => (ImmutableHashSet<string>)Names;

    /// <summary>Applies a state-of-the-world request: its names are the complete new subscription.</summary>
    internal Subscription ApplySotw(IReadOnlyCollection<string> resourceNames, bool supportsLegacyWildcard,
        out IReadOnlyCollection<string> added, out IReadOnlyCollection<string> removed)
    {
        var named = HasNamedResources || resourceNames.Count > 0;
        if (named == HasNamedResources && Repeats(resourceNames, supportsLegacyWildcard))
        {
            // The common case: an ACK repeats the subscription. No allocation, no set built.
            added = removed = NoNames;
            return this;
        }

        var newNames = NameSets.Find(resourceNames, WildcardName, out var wildcard, out var key);
        if (newNames is null)
        {
            var names = NameSet.Clear().ToBuilder();
            foreach (var name in resourceNames)
            {
                if (name != WildcardName)
                {
                    names.Add(name);
                }
            }

            newNames = NameSets.Intern(names.ToImmutable(), out key);
        }

        // Legacy wildcard: "if the client ... has never explicitly subscribed to any resource names".
        wildcard |= !named && supportsLegacyWildcard;
        added = NameSet.IsEmpty ? newNames : [.. newNames.Except(NameSet)];
        removed = newNames.IsEmpty ? NameSet : NameSet.IsEmpty ? NoNames : [.. NameSet.Except(newNames)];
        return wildcard == IsWildcard && added.Count == 0 && removed.Count == 0 && named == HasNamedResources
            ? this
            : new Subscription(wildcard, newNames, named, key);
    }

    /// <summary>Applies a delta request: subscribes and unsubscribes names (and <c>"*"</c>).</summary>
    internal Subscription ApplyDelta(IReadOnlyCollection<string> subscribe, IReadOnlyCollection<string> unsubscribe,
        bool supportsLegacyWildcard, out IReadOnlyCollection<string> subscribed, out List<string> unsubscribed)
    {
        var named = HasNamedResources || subscribe.Count > 0;
        if (NameSet.IsEmpty && unsubscribe.Count == 0 && NameSets.Find(subscribe, WildcardName, out var star, out var sharedKey) is { } shared)
        {
            // A first subscription to names another stream subscribes to as well: share its set, build nothing.
            subscribed = shared;
            unsubscribed = [];
            return new Subscription(IsWildcard || star || (!named && supportsLegacyWildcard), shared, named, sharedKey);
        }

        var wildcard = IsWildcard || (!named && supportsLegacyWildcard);
        var names = NameSet.ToBuilder();
        var added = new List<string>();
        subscribed = added;
        unsubscribed = [];
        foreach (var name in unsubscribe)
        {
            if (name == WildcardName)
            {
                wildcard = false;
            }
            else if (names.Remove(name))
            {
                unsubscribed.Add(name);
            }

            // A phantom unsubscription (a name not subscribed) is ignored, as the protocol page asks.
        }

        foreach (var name in subscribe)
        {
            if (name == WildcardName)
            {
                wildcard = true;
            }
            else
            {
                names.Add(name);
                added.Add(name);
            }
        }

        var newNames = names.ToImmutable();
        var key = _contentKey;
        newNames = ReferenceEquals(newNames, NameSet) ? newNames : NameSets.Intern(newNames, out key);
        return wildcard == IsWildcard && named == HasNamedResources && ReferenceEquals(newNames, NameSet)
            ? this
            : new Subscription(wildcard, newNames, named, key);
    }

    /// <summary>
    /// True when a SotW request's names are exactly this subscription (same wildcard, same names), checked
    /// without allocating: every name is subscribed, the counts match, and so do the content keys (which tell a
    /// request repeating one name instead of naming another apart, unless the two names' hashes are equal).
    /// </summary>
    private bool Repeats(IReadOnlyCollection<string> resourceNames, bool supportsLegacyWildcard)
    {
        var wildcard = false;
        var count = 0;
        long sum = 0;
        // A shared set is checked against its read-optimized copy: one hash per name.
        var lookup = NameSet.Count >= 2 ? NameSets.LookupOf(NameSet, _contentKey) : null;
        foreach (var name in resourceNames)
        {
            if (name == WildcardName)
            {
                wildcard = true;
                continue;
            }

            uint hash;
            if (lookup is not null)
            {
                if (!lookup.TryGetValue(name, out hash))
                {
                    return false;
                }
            }
            else if (NameSet.Contains(name))
            {
                hash = NameSets.HashOf(name);
            }
            else
            {
                return false;
            }

            sum += hash;
            count++;
        }

        wildcard |= !HasNamedResources && supportsLegacyWildcard;
        return wildcard == IsWildcard && count == NameSet.Count && NameSets.Key(sum, count) == _contentKey;
    }

    /// <inheritdoc />
    public override string ToString() =>
        IsWildcard ? (Names.Count == 0 ? "*" : $"*, {string.Join(", ", Names.Order(StringComparer.Ordinal))}")
        : Names.Count == 0 ? "(nothing)" : string.Join(", ", Names.Order(StringComparer.Ordinal));
}
