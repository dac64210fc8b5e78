using System.IO.Hashing;
using Google.Protobuf;

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

    /// <summary>The hash of the map entry that carries <paramref name="name"/> → <paramref name="version"/>, encoded as
    /// protobuf encodes one (field 1 then field 2).</summary>
    internal static ulong HashOf(string name, string version)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(version);
        var entry = new byte[(2 * CodedOutputStream.ComputeTagSize(1)) + CodedOutputStream.ComputeStringSize(name)
            + CodedOutputStream.ComputeStringSize(version)];
        var output = new CodedOutputStream(entry);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteString(name);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(version);
        output.Flush();
        return XxHash3.HashToUInt64(entry);
    }
}
