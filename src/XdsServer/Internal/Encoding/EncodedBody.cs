using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// A response encoded once without its nonce: every field of the <c>DiscoveryResponse</c> or
/// <c>DeltaDiscoveryResponse</c> but <c>nonce</c> (field 5 in both). <see cref="Prefix"/> holds the fields numbered
/// below 5 and <see cref="Suffix"/> those above (delta's <c>removed_resources</c>, field 6), so writing prefix,
/// nonce, suffix gives exactly the bytes the message itself encodes to (fields in number order). Protobuf would
/// accept the nonce anywhere; keeping the canonical order makes the bytes identical, which the tests check.
/// Immutable, shared by every stream that sends the same content.
/// </summary>
internal sealed class EncodedBody
{
    private readonly byte[] _bytes;
    private readonly int _split;

    private EncodedBody(byte[] bytes, int split)
    {
        _bytes = bytes;
        _split = split;
    }

    /// <summary>The encoded fields that come before the nonce.</summary>
    public ReadOnlySpan<byte> Prefix => _bytes.AsSpan(0, _split);

    /// <summary>The encoded fields that come after the nonce.</summary>
    public ReadOnlySpan<byte> Suffix => _bytes.AsSpan(_split);

    /// <summary>Prefix and suffix together.</summary>
    public int Length => _bytes.Length;

    /// <summary>Encodes a watch answer without its nonce, from the very message a stream would otherwise build (an
    /// empty nonce is not encoded in proto3), so both paths cannot drift apart.</summary>
    public static EncodedBody Create(WatchResponse response)
    {
        if (!response.IsDelta)
        {
            var bytes = SotwStream.CreateResponse(response, string.Empty).ToByteArray();
            return new EncodedBody(bytes, bytes.Length); // nothing is numbered above the nonce
        }

        var delta = DeltaStream.CreateResponse(response, string.Empty).ToByteArray();
        var removed = 0;
        foreach (var name in response.RemovedNames)
        {
            removed += RemovedTagSize + CodedOutputStream.ComputeStringSize(name);
        }

        return new EncodedBody(delta, delta.Length - removed);
    }

    /// <summary>The tag of <c>removed_resources</c> (field 6, length-delimited) takes one byte.</summary>
    private const int RemovedTagSize = 1;
}
