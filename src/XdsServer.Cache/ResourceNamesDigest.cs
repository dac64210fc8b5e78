using System.IO.Hashing;
using System.Text;

namespace XdsServer.Cache;

/// <summary>
/// An order-independent digest of a list of resource names: a delta request's <c>resource_names_subscribe</c> as it
/// arrives (each name's UTF-8 bytes, <c>*</c> included), compared with a subscription the server built before for the
/// same set without parsing a name (<see cref="ClientState.TryResumeDelta(ResourceNamesDigest, ResourceVersionsDigest, ResourceSet)"/>).
/// Each name counts by a 64-bit hash (XXH3) of its bytes; the digest is the number of names and the sum of their hashes.
/// </summary>
/// <remarks>As for <see cref="ResourceVersionsDigest"/>, equal digests mean equal lists up to a 64-bit hash collision,
/// which could only give a client a subscription it did not ask for under names it listed no differently. A digest is
/// a value: adding returns a new one.</remarks>
public readonly record struct ResourceNamesDigest
{
    // A seed of its own, so that a name and a name/version entry with equal bytes do not hash alike.
    private const long Seed = 0x6E616D6573;

    private ResourceNamesDigest(int count, ulong sum)
    {
        Count = count;
        Sum = sum;
    }

    /// <summary>The digest of no names.</summary>
    public static ResourceNamesDigest Empty => default;

    /// <summary>The number of names added.</summary>
    public int Count { get; }

    /// <summary>The sum (modulo 2^64) of the names' hashes.</summary>
    public ulong Sum { get; }

    /// <summary>This digest with one more name, given as its UTF-8 bytes (a string field's payload on the wire).</summary>
    public ResourceNamesDigest AddEncodedName(ReadOnlySpan<byte> name) => new(Count + 1, Sum + XxHash3.HashToUInt64(name, Seed));

    /// <summary>This digest with one more name.</summary>
    public ResourceNamesDigest AddName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return AddEncodedName(Encoding.UTF8.GetBytes(name));
    }

    /// <summary>The digest of <paramref name="names"/>.</summary>
    public static ResourceNamesDigest Of(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var digest = Empty;
        foreach (var name in names)
        {
            digest = digest.AddName(name);
        }

        return digest;
    }
}
