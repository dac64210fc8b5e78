using Google.Protobuf;

namespace XdsServer.Tests;

/// <summary>Writes <c>initial_resource_versions</c> records (field 5 of a DeltaDiscoveryRequest) by hand, in the order
/// a test chooses, as a client other than protobuf's own writer might.</summary>
internal static class VersionEntries
{
    /// <summary>One record: the map entry's key (field 1) then its value (field 2), or the value first, which is valid
    /// protobuf but not how protobuf writes an entry.</summary>
    public static void Write(CodedOutputStream output, string name, string version, bool valueFirst = false)
    {
        var entry = new MemoryStream();
        var inner = new CodedOutputStream(entry);
        (int Field, string Value)[] fields = valueFirst ? [(2, version), (1, name)] : [(1, name), (2, version)];
        foreach (var (field, value) in fields)
        {
            inner.WriteTag(field, WireFormat.WireType.LengthDelimited);
            inner.WriteString(value);
        }

        inner.Flush();
        output.WriteTag(5, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(entry.ToArray()));
    }
}
