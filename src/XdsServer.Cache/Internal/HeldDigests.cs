using System.Collections.Immutable;

namespace XdsServer.Cache.Internal;

/// <summary>
/// What a delta client subscribed as <see cref="Subscription"/> holds when it is up to date with one set: the digest
/// of the (name, version) pairs the subscription covers, and the explicitly subscribed names the set lacks (a resumed
/// client is told again that they do not exist); with the subscription itself and the digest of the names a request
/// lists to subscribe so (<c>*</c> for a wildcard), by which a later request is matched to it without parsing its names.
/// Computed once per set and subscription name set (equal name sets are one object, <see cref="NameSets"/>), so
/// 10,000 sidecars resuming with the same 1,000 names cost one pass.
/// </summary>
internal sealed record HeldDigest(ResourceVersionsDigest Digest, IReadOnlyList<string> Missing, Subscription Subscription,
    ResourceNamesDigest Names)
{
    public static HeldDigest Compute(ResourceSet set, Subscription subscription)
    {
        var digest = ResourceVersionsDigest.Empty;
        var names = ResourceNamesDigest.Empty;
        List<string>? missing = null;
        if (subscription.IsWildcard)
        {
            names = names.AddName(Subscription.WildcardName);
            foreach (var resource in set.Sorted)
            {
                digest = digest.AddHash(resource.EntryHash);
            }
        }

        foreach (var name in subscription.NameSet)
        {
            names = names.AddName(name);
            if (set.TryGet(name, out var resource))
            {
                if (!subscription.IsWildcard)
                {
                    digest = digest.AddHash(resource.EntryHash);
                }
            }
            else
            {
                (missing ??= []).Add(name);
            }
        }

        missing?.Sort(StringComparer.Ordinal);
        // A subscription no request named (the legacy wildcard of an empty first request) is never matched by names:
        // a request that lists "*" builds a subscription that remembers it did (and treats a later empty request
        // differently).
        return new HeldDigest(digest, missing is null ? [] : missing, subscription,
            subscription.HasNamedResources ? names : ResourceNamesDigest.Empty);
    }
}

/// <summary>
/// The <see cref="HeldDigest"/>s computed against one set, by subscription. Lives on the set, bounded to
/// <see cref="Capacity"/> entries (beyond that, digests are computed without it), copy-on-write so lookups take no
/// lock.
/// </summary>
internal sealed class HeldDigests
{
    public const int Capacity = 64;

    private Entry[] _entries = [];

    public HeldDigest For(ResourceSet set, Subscription subscription)
    {
        var names = subscription.NameSet;
        while (true)
        {
            var entries = Volatile.Read(ref _entries);
            foreach (var entry in entries)
            {
                if (entry.Wildcard == subscription.IsWildcard && entry.Named == subscription.HasNamedResources
                    && ReferenceEquals(entry.Names, names))
                {
                    return entry.Held;
                }
            }

            var held = HeldDigest.Compute(set, subscription);
            if (entries.Length >= Capacity)
            {
                return held;
            }

            Entry[] grown = [.. entries, new Entry(subscription.IsWildcard, subscription.HasNamedResources, names, held)];
            if (ReferenceEquals(Interlocked.CompareExchange(ref _entries, grown, entries), entries))
            {
                return held;
            }
        }
    }

    /// <summary>The digest computed for a subscription whose request listed names with the digest
    /// <paramref name="names"/>, if one was.</summary>
    public HeldDigest? Find(ResourceNamesDigest names)
    {
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (entry.Held.Names == names)
            {
                return entry.Held;
            }
        }

        return null;
    }

    private sealed record Entry(bool Wildcard, bool Named, ImmutableHashSet<string> Names, HeldDigest Held);
}
