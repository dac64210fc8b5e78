using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// Reads a delta request off the wire. A small request is parsed by the generated parser. A large one is copied out of
/// gRPC's buffers once and walked field by field with protobuf's own reader (tags read, fields skipped, nothing
/// decoded): the records of <c>resource_names_subscribe</c> (field 3) and <c>initial_resource_versions</c> (field 5) stay in that copy with the
/// digests of their names and entries (<see cref="DeltaRequest"/>), and the other fields are parsed by the generated
/// parser, run by run in their order, which protobuf defines to be the same as parsing them together (a repeated
/// field's elements keep their order). A request the walk finds malformed (a truncated field, a field number 0) is
/// left to the generated parser, so it fails exactly as it always did.
/// </summary>
internal static class DeltaRequestReader
{
    /// <summary>Requests below this size are parsed whole: an ACK or a small subscription has no versions worth
    /// keeping aside (a dozen entries at most).</summary>
    public const int ScanThreshold = 512;

    private static readonly uint SubscribeTag =
        WireFormat.MakeTag(DeltaDiscoveryRequest.ResourceNamesSubscribeFieldNumber, WireFormat.WireType.LengthDelimited);

    private static readonly uint VersionsTag =
        WireFormat.MakeTag(DeltaDiscoveryRequest.InitialResourceVersionsFieldNumber, WireFormat.WireType.LengthDelimited);

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
            var input = new CodedInputStream(buffer, 0, length);
            while (true)
            {
                int start, afterTag, at;
                uint tag;
                try
                {
                    start = (int)input.Position;
                    if ((tag = input.ReadTag()) == 0)
                    {
                        break;
                    }

                    afterTag = (int)input.Position;
                    input.SkipLastField();
                    at = (int)input.Position;
                }
                catch (InvalidProtocolBufferException)
                {
                    return new DeltaRequest(DeltaDiscoveryRequest.Parser.ParseFrom(bytes)); // it says what is wrong
                }

                var isName = tag == SubscribeTag;
                if (!isName && tag != VersionsTag)
                {
                    continue;
                }

                // A length-delimited field: its payload follows the length's varint (read and checked by the skip).
                var payloadStart = afterTag;
                while (bytes[payloadStart++] >= 0x80)
                {
                }

                if (isName)
                {
                    names = names.AddEncodedName(bytes[payloadStart..at]);
                }
                else
                {
                    versions = versions.AddEncodedEntry(bytes[payloadStart..at]);
                }

                if (start > run)
                {
                    message.MergeFrom(bytes[run..start]);
                }

                var records = isName ? nameRecords : versionRecords;
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
}
