using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// Reads a delta request off the wire. A small request is parsed by the generated parser. A large one is copied out of
/// gRPC's buffers once and walked field by field (tags and lengths only): the records of
/// <c>initial_resource_versions</c> (field 5) stay in that copy with the digest of their entries
/// (<see cref="WireResourceVersions"/>), and the other fields are parsed by the generated parser, run by run in their
/// order, which protobuf defines to be the same as parsing them together. Anything the walk does not understand (a
/// truncated field, a group, a field number 0) is left to the generated parser, so a malformed request fails exactly
/// as it always did.
/// </summary>
internal static class DeltaRequestReader
{
    /// <summary>Requests below this size are parsed whole: an ACK or a small subscription has no versions worth
    /// keeping aside (a dozen entries at most).</summary>
    public const int ScanThreshold = 512;

    private const int InitialResourceVersionsField = 5;
    private const int LengthDelimited = 2;

    public static DeltaRequest Read(ReadOnlySequence<byte> payload)
    {
        if (payload.Length < ScanThreshold)
        {
            return new DeltaRequest(DeltaDiscoveryRequest.Parser.ParseFrom(payload));
        }

        // One copy, which the versions keep (gRPC reuses the payload's buffers once this returns).
        var length = checked((int)payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        payload.CopyTo(buffer);
        return Read(buffer, length);
    }

    /// <summary>Reads a request from the first <paramref name="length"/> bytes of <paramref name="buffer"/>, a buffer
    /// from <see cref="ArrayPool{T}.Shared"/> that the result owns from here on (it is returned when the versions are
    /// let go, or at once when nothing is kept).</summary>
    public static DeltaRequest Read(byte[] buffer, int length)
    {
        var bytes = buffer.AsSpan(0, length);
        var kept = false;
        try
        {
            var message = new DeltaDiscoveryRequest();
            var digest = ResourceVersionsDigest.Empty;
            var ranges = new List<Range>(1);
            var run = 0; // start of the other fields not parsed yet
            for (var at = 0; at < bytes.Length;)
            {
                if (!TryNextField(bytes, ref at, out var start, out var tag, out var payloadStart))
                {
                    return new DeltaRequest(DeltaDiscoveryRequest.Parser.ParseFrom(bytes)); // it says what is wrong
                }

                if (!IsVersionsRecord(tag))
                {
                    continue;
                }

                if (start > run)
                {
                    message.MergeFrom(bytes[run..start]);
                }

                if (ranges.Count > 0 && ranges[^1].End.Value == start)
                {
                    ranges[^1] = ranges[^1].Start..at; // the records follow one another: one range
                }
                else
                {
                    ranges.Add(start..at);
                }

                digest = digest.AddEncodedEntry(bytes[payloadStart..at]);
                run = at;
            }

            if (run < bytes.Length)
            {
                message.MergeFrom(bytes[run..]);
            }

            if (digest.Count == 0)
            {
                return new DeltaRequest(message);
            }

            kept = true;
            return new DeltaRequest(message, new WireResourceVersions(buffer, [.. ranges], digest));
        }
        finally
        {
            if (!kept)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static bool IsVersionsRecord(uint tag) => tag == ((InitialResourceVersionsField << 3) | LengthDelimited);

    /// <summary>Steps over one field: its tag, and where it and (for a length-delimited field) its payload start.
    /// False when the bytes at <paramref name="at"/> are not a complete field of a known wire type.</summary>
    private static bool TryNextField(ReadOnlySpan<byte> bytes, ref int at, out int start, out uint tag, out int payloadStart)
    {
        start = at;
        payloadStart = at;
        if (!TryReadVarint(bytes, ref at, out var raw) || raw >> 3 == 0 || raw > uint.MaxValue)
        {
            tag = 0;
            return false;
        }

        tag = (uint)raw;
        ulong skip;
        switch (tag & 7)
        {
            case 0:
                return TryReadVarint(bytes, ref at, out _);
            case 1:
                skip = 8;
                break;
            case 5:
                skip = 4;
                break;
            case LengthDelimited:
                if (!TryReadVarint(bytes, ref at, out skip))
                {
                    return false;
                }

                payloadStart = at;
                break;
            default:
                return false; // groups and invalid wire types: the generated parser decides
        }

        if (skip > (ulong)(bytes.Length - at))
        {
            return false;
        }

        at += (int)skip;
        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < bytes.Length; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
