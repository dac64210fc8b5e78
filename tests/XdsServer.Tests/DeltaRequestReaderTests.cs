using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Internal.Encoding;

namespace XdsServer.Tests;

/// <summary>How a delta request is read off the wire: a large <c>initial_resource_versions</c> is kept as bytes with
/// its digest, and everything still reads exactly as the generated parser reads it
/// (src/XdsServer/Internal/Encoding/DeltaRequestReader.cs).</summary>
public class DeltaRequestReaderTests
{
    private static Dictionary<string, string> Versions(int count, string prefix = "endpoints-of-service") =>
        Enumerable.Range(0, count).ToDictionary(i => $"{prefix}-{i:D4}.default.svc.cluster.local", i => $"{i * 7919:x16}");

    private static DeltaDiscoveryRequest Large(int entries = 300)
    {
        var request = new DeltaDiscoveryRequest
        {
            Node = Fixtures.Node("n1"),
            TypeUrl = TypeUrls.ClusterLoadAssignment,
            ResponseNonce = "7",
        };
        var versions = Versions(entries);
        request.ResourceNamesSubscribe.AddRange(versions.Keys);
        request.InitialResourceVersions.Add(versions);
        return request;
    }

    private static DeltaRequest ReadInSegments(byte[] bytes, int segment)
    {
        // The way Kestrel hands over a large message: several buffers.
        var first = new Segment(bytes.AsMemory(0, Math.Min(segment, bytes.Length)), 0);
        var last = first;
        for (var at = segment; at < bytes.Length; at += segment)
        {
            last = last.Append(bytes.AsMemory(at, Math.Min(segment, bytes.Length - at)));
        }

        return DeltaRequestReader.Read(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));
    }

    [Fact]
    public void A_large_request_keeps_its_versions_aside_with_the_digest_of_its_pairs()
    {
        var request = Large();
        var bytes = request.ToByteArray();
        Assert.True(bytes.Length > DeltaRequestReader.ScanThreshold);

        var read = ReadInSegments(bytes, 4096);
        Assert.Empty(read.Message.InitialResourceVersions);
        Assert.Empty(read.Message.ResourceNamesSubscribe);
        Assert.Equal((300, 300), (read.SubscribeCount, read.InitialVersionCount));
        // Protobuf writes each map entry as key then value: the digest equals the one computed from the pairs.
        Assert.Equal(ResourceVersionsDigest.Of(request.InitialResourceVersions), read.PendingVersions);
        Assert.Equal(ResourceNamesDigest.Of(request.ResourceNamesSubscribe), read.PendingNames);
        Assert.Equal("7", read.Message.ResponseNonce);

        read.MaterializeNames();
        Assert.Equal(request.ResourceNamesSubscribe, read.Message.ResourceNamesSubscribe);
        Assert.NotNull(read.PendingVersions);
        read.MaterializeVersions();
        Assert.Null(read.PendingVersions);
        Assert.Equal(request, read.Message);
    }

    [Fact]
    public void The_digest_does_not_depend_on_the_order_of_the_pairs()
    {
        var versions = Versions(50);
        var reversed = versions.Reverse().ToDictionary();
        Assert.Equal(ResourceVersionsDigest.Of(versions), ResourceVersionsDigest.Of(reversed));
        var changed = new Dictionary<string, string>(versions) { [versions.Keys.First()] = "other" };
        Assert.NotEqual(ResourceVersionsDigest.Of(versions), ResourceVersionsDigest.Of(changed));
        var fewer = versions.Skip(1).ToDictionary();
        Assert.NotEqual(ResourceVersionsDigest.Of(versions).Count, ResourceVersionsDigest.Of(fewer).Count);
    }

    [Fact]
    public void Fields_in_any_order_with_unknown_fields_and_repeated_names_read_as_the_generated_parser_reads_them()
    {
        var versions = Versions(200);
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        var half = versions.Take(100).ToDictionary();
        // Versions first, then the other fields, then more versions (one name again, at another version: the later
        // entry wins), an unknown field and a nonce given twice (the later wins).
        WriteVersions(output, half);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(TypeUrls.ClusterLoadAssignment);
        output.WriteTag(6, WireFormat.WireType.LengthDelimited);
        output.WriteString("1");
        foreach (var name in versions.Keys)
        {
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteString(name);
        }

        WriteVersions(output, versions.Skip(100).ToDictionary());
        WriteVersions(output, new Dictionary<string, string> { [versions.Keys.First()] = "again" });
        output.WriteTag(99, WireFormat.WireType.Varint);
        output.WriteUInt64(12345);
        output.WriteTag(6, WireFormat.WireType.LengthDelimited);
        output.WriteString("2");
        output.Flush();
        var bytes = stream.ToArray();

        var expected = DeltaDiscoveryRequest.Parser.ParseFrom(bytes);
        var read = Read(bytes);
        Assert.Equal(201, read.InitialVersionCount);
        Assert.Equal("2", read.Message.ResponseNonce);
        read.Materialize();
        Assert.Equal(expected, read.Message);
        Assert.Equal("again", read.Message.InitialResourceVersions[versions.Keys.First()]);
    }

    [Fact]
    public void An_entry_written_value_first_is_read_the_same_but_has_another_digest()
    {
        var versions = Versions(200);
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(TypeUrls.ClusterLoadAssignment);
        foreach (var (name, version) in versions)
        {
            VersionEntries.Write(output, name, version, valueFirst: true);
        }

        output.Flush();
        var read = Read(stream.ToArray());
        Assert.NotEqual(ResourceVersionsDigest.Of(versions), read.PendingVersions);
        read.Materialize();
        Assert.Equal(versions, read.Message.InitialResourceVersions);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("bad entry")]
    [InlineData("group")]
    public void A_malformed_large_request_fails_as_the_generated_parser_fails(string what)
    {
        var bytes = Large().ToByteArray();
        switch (what)
        {
            case "truncated":
                bytes = bytes[..^2]; // the nonce field loses its length and value
                break;
            case "bad entry":
                // An entry whose own first field claims more bytes than the entry holds.
                var entry = new byte[] { 0x2A, 0x04, 0x0A, 0x7F, 0x61, 0x62 };
                bytes = [.. bytes, .. entry];
                break;
            case "group":
                bytes = [.. bytes, 0x0B]; // field 1 as a start-group
                break;
        }

        Assert.ThrowsAny<InvalidProtocolBufferException>(() => DeltaDiscoveryRequest.Parser.ParseFrom(bytes));
        Assert.ThrowsAny<InvalidProtocolBufferException>(() =>
        {
            var read = Read(bytes);
            read.Materialize(); // a malformed entry is found when the versions are parsed
        });
    }

    [Fact]
    public void A_small_request_is_parsed_whole()
    {
        var request = new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Cluster };
        request.InitialResourceVersions.Add(Versions(3));
        var read = DeltaRequestReader.Read(new ReadOnlySequence<byte>(request.ToByteArray()));
        Assert.Null(read.PendingVersions);
        Assert.Equal(request, read.Message);
    }

    private static DeltaRequest Read(byte[] bytes) => DeltaRequestReader.Read(new ReadOnlySequence<byte>(bytes));

    private static void WriteVersions(CodedOutputStream output, Dictionary<string, string> versions)
    {
        foreach (var (name, version) in versions)
        {
            VersionEntries.Write(output, name, version);
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
