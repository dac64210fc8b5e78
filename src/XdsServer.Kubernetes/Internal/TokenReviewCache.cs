using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using XdsServer.Ca;

namespace XdsServer.Kubernetes.Internal;

/// <summary>Recent TokenReview results, keyed by the SHA-256 of the token (never the token), each until its own
/// expiry on the injected clock, at most <c>capacity</c> of them: when full, expired entries are swept and, if
/// none expired, a new result is simply not cached.</summary>
internal sealed class TokenReviewCache(int capacity, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public static string Key(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public bool TryGet(string key, out CallerAuthenticationResult result)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Until > timeProvider.GetUtcNow())
            {
                result = entry.Result;
                return true;
            }
            _entries.TryRemove(KeyValuePair.Create(key, entry));
        }
        result = null!;
        return false;
    }

    /// <returns>False when the cache is full of live entries and the result was not kept.</returns>
    public bool Set(string key, CallerAuthenticationResult result, DateTimeOffset until)
    {
        var now = timeProvider.GetUtcNow();
        if (until <= now)
        {
            return true;
        }
        if (_entries.Count >= capacity && !_entries.ContainsKey(key))
        {
            foreach (var (k, e) in _entries)
            {
                if (e.Until <= now)
                {
                    _entries.TryRemove(KeyValuePair.Create(k, e));
                }
            }
            if (_entries.Count >= capacity)
            {
                return false;
            }
        }
        _entries[key] = new Entry(result, until);
        return true;
    }

    private sealed record Entry(CallerAuthenticationResult Result, DateTimeOffset Until);
}
