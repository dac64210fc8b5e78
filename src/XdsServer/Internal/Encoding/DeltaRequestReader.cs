using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// Reads a delta request off the wire. A small request is parsed by the generated parser. A large one is copied out of
/// gRPC's buffers once and walked field by field (tags and lengths only): the records of
/// <c>resource_names_subscribe</c> (field 3) and <c>initial_resource_versions</c> (field 5) stay in that copy with the
/// digests of their names and entries (<see cref="DeltaRequest"/>), and the other fields are parsed by the generated
/// parser, run by run in their order, which protobuf defines to be the same as parsing them together (a repeated
/// field's elements keep their order). Anything the walk does not understand (a truncated field, a group, a field
/// number 0) is left to the generated parser, so a malformed request fails exactly as it always did.
/// </summary>
internal static class DeltaRequestReader
{
    /// <summary>Requests below this size are parsed whole: an ACK or a small subscription has no versions worth
    /// keeping aside (a dozen entries at most).</summary>
    public const int ScanThreshold = 512;

    private const int LengthDelimited = 2;
    private const uint SubscribeTag = (3 << 3) | LengthDelimited; // resource_names_subscribe
    private const uint VersionsTag = (5 << 3) | LengthDelimited; // initial_resource_versions

    public static DeltaRequest Read(ReadOnlySequence<byte> payload)
    {
        if (payload.Length < ScanThreshold)
        {
            return new DeltaRequest(DeltaDiscoveryRequest.Parser.ParseFrom(payload));
        }

        // One copy, which the kept fields keep (gRPC reuses the payload's buffers once this returns).
        var length = checked((int)payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        payload.CopyTo(buffer);
        return Read(buffer, length);
    }

    /// <summary>Reads a request from the first <paramref name="length"/> bytes of <paramref name="buffer"/>, a buffer
    /// from <see cref="ArrayPool{T}.Shared"/> that the result owns from here on (it is returned when the kept fields
    /// are let go, or at once when nothing is kept).</summary>
    public static DeltaRequest Read(byte[] buffer, int length)
    {
        var bytes = buffer.AsSpan(0, length);
        var kept = false;
        try
        {
            var message = new DeltaDiscoveryRequest();
            var names = ResourceNamesDigest.Empty;
            var versions = ResourceVersionsDigest.Empty;
            var nameRecords = new List<Range>(1);
            var versionRecords = new List<Range>(1);
            var run = 0; // start of the other fields not parsed yet
            for (var at = 0; at < bytes.Length;)
            {
                if (!TryNextField(bytes, ref at, out var start, out var tag, out var payloadStart))
                {
                    return new DeltaRequest(DeltaDiscoveryRequest.Parser.ParseFrom(bytes)); // it says what is wrong
                }

                List<Range> records;
                if (tag == SubscribeTag)
                {
                    records = nameRecords;
                    names = names.AddEncodedName(bytes[payloadStart..at]);
                }
                else if (tag == VersionsTag)
                {
                    records = versionRecords;
                    versions = versions.AddEncodedEntry(bytes[payloadStart..at]);
                }
                else
                {
                    continue;
                }

                if (start > run)
                {
                    message.MergeFrom(bytes[run..start]);
                }

                if (records.Count > 0 && records[^1].End.Value == start)
                {
                    records[^1] = records[^1].Start..at; // the records follow one another: one range
                }
                else
                {
                    records.Add(start..at);
                }

                run = at;
            }

            if (run < bytes.Length)
            {
                message.MergeFrom(bytes[run..]);
            }

            if (names.Count == 0 && versions.Count == 0)
            {
                return new DeltaRequest(message);
            }

            kept = true;
            return new DeltaRequest(message, buffer,
                [.. nameRecords], names.Count == 0 ? null : names,
                [.. versionRecords], versions.Count == 0 ? null : versions);
        }
        finally
        {
            if (!kept)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

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
