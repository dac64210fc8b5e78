using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace XdsServer.Cache;

/// <summary>
/// An order-independent digest of name → version pairs: what a reconnecting delta client lists in its first request's
/// <c>initial_resource_versions</c>, compared with what a set holds without decoding a name or building a map
/// (<see cref="ClientState.TryResumeDelta(IReadOnlyCollection{string}, IReadOnlyCollection{string}, ResourceVersionsDigest, ResourceSet)"/>). Each pair counts by a 64-bit hash (XXH3) of its protobuf map-entry
/// encoding (field 1 the name, field 2 the version, both written, as protobuf writes a map entry), and the digest is
/// the number of pairs and the sum of their hashes, so two lists in different orders have the same digest.
/// </summary>
/// <remarks>
/// Equal digests mean equal lists up to a 64-bit hash collision; a client can only use a collision to be believed to
/// hold what it does not, which costs it its own config and no one else's. A pair encoded another way (the fields in
/// the other order, an unknown field, a version left out) gets another hash: the comparison then fails, and the
/// caller reads the pairs one by one instead. A digest is a value: adding returns a new one.
/// </remarks>
public readonly record struct ResourceVersionsDigest
{
    private ResourceVersionsDigest(int count, ulong sum)
    {
        Count = count;
        Sum = sum;
    }

    /// <summary>The digest of no pairs.</summary>
    public static ResourceVersionsDigest Empty => default;

    /// <summary>The number of pairs added.</summary>
    public int Count { get; }

    /// <summary>The sum (modulo 2^64) of the pairs' hashes.</summary>
    public ulong Sum { get; }

    /// <summary>This digest with one more pair, given as the bytes of its map entry as they arrive on the wire (the
    /// entry's own fields, without the enclosing field's tag and length).</summary>
    public ResourceVersionsDigest AddEncodedEntry(ReadOnlySpan<byte> entry) => new(Count + 1, Sum + XxHash3.HashToUInt64(entry));

    /// <summary>This digest with one more pair.</summary>
    public ResourceVersionsDigest Add(string name, string version) => new(Count + 1, Sum + HashOf(name, version));

    internal ResourceVersionsDigest AddHash(ulong hash) => new(Count + 1, Sum + hash);

    /// <summary>The digest of <paramref name="pairs"/> (name → version).</summary>
    public static ResourceVersionsDigest Of(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var digest = Empty;
        foreach (var (name, version) in pairs)
        {
            digest = digest.Add(name, version);
        }

        return digest;
    }

    /// <summary>The hash of the map entry that carries <paramref name="name"/> → <paramref name="version"/>.</summary>
    internal static ulong HashOf(string name, string version)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(version);
        var nameBytes = Encoding.UTF8.GetByteCount(name);
        var versionBytes = Encoding.UTF8.GetByteCount(version);
        var size = 2 + VarintSize(nameBytes) + nameBytes + VarintSize(versionBytes) + versionBytes;
        byte[]? rented = null;
        var buffer = size <= 512 ? stackalloc byte[size] : (rented = ArrayPool<byte>.Shared.Rent(size)).AsSpan(0, size);
        try
        {
            var at = 0;
            buffer[at++] = 0x0A; // field 1, length-delimited: the key
            at += WriteVarint(buffer[at..], nameBytes);
            at += Encoding.UTF8.GetBytes(name, buffer[at..]);
            buffer[at++] = 0x12; // field 2, length-delimited: the value
            at += WriteVarint(buffer[at..], versionBytes);
            Encoding.UTF8.GetBytes(version, buffer[at..]);
            return XxHash3.HashToUInt64(buffer);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int VarintSize(int value)
    {
        var size = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7)
        {
            size++;
        }

        return size;
    }

    private static int WriteVarint(Span<byte> to, int value)
    {
        var at = 0;
        var v = (uint)value;
        while (v >= 0x80)
        {
            to[at++] = (byte)(v | 0x80);
            v >>= 7;
        }

        to[at++] = (byte)v;
        return at;
    }
}
