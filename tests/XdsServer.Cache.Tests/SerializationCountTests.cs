using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsServer.Cache.Tests;

/// <summary>docs/architecture.md, invariant 1: a resource is serialized once per version, however many watches receive it.</summary>
public class SerializationCountTests
{
    private static readonly ResourceType Counting = new()
    {
        TypeUrl = "type.googleapis.com/test.Counting",
        ShortName = "Counting",
        NameOf = m => ((CountingMessage)m).Name,
        FullStateInSotw = true,
        SupportsLegacyWildcard = true,
    };

    private static readonly ResourceTypeRegistry Registry = ResourceTypeRegistry.Default.With(Counting);

    [Fact]
    public void Each_version_is_serialized_once_for_any_number_of_watches()
    {
        var a = new CountingMessage("a", 1);
        var b = new CountingMessage("b", 1);
        var snapshot = Snapshot.CreateBuilder(Registry).Set(XdsResource.Create(Counting, a)).Set(XdsResource.Create(Counting, b)).Build();
        using var cache = new SnapshotCache();

        var probes = Enumerable.Range(0, 100)
            .Select(i => Probe.Open(cache, "n", ClientState.ForSotw(Counting).ApplySotwRequest([])))
            .ToList();
        cache.SetSnapshot("n", snapshot);

        Assert.All(probes, p => Assert.Equal(["a", "b"], Names.Of(p.Response!)));
        Assert.Equal((1, 1), (a.Writes, b.Writes));

        // A derived snapshot that passes the same message objects back serializes nothing again.
        var a2 = new CountingMessage("a", 2);
        var next = snapshot.ToBuilder();
        next.For(Counting.TypeUrl).Set(a2).Set(b);
        var nextSnapshot = next.Build();
        Assert.Equal((1, 1, 1), (a.Writes, b.Writes, a2.Writes));

        var states = probes.Select(p => p.Response!.State.ApplyResponse(p.Response!)).ToList();
        probes.ForEach(p => p.Dispose());
        var again = states.Select(s => Probe.Open(cache, "n", s)).ToList();
        cache.SetSnapshot("n", nextSnapshot);

        Assert.All(again, p => Assert.Equal(["a", "b"], Names.Of(p.Response!)));
        Assert.Equal((1, 1, 1), (a.Writes, b.Writes, a2.Writes));
        again.ForEach(p => p.Dispose());
    }

    /// <summary>A message that counts how often it is written.</summary>
    private sealed class CountingMessage(string name, int value) : IMessage
    {
        private int _writes;

        public string Name { get; } = name;

        public int Writes => Volatile.Read(ref _writes);

        public MessageDescriptor Descriptor => Google.Protobuf.WellKnownTypes.Empty.Descriptor;

        public int CalculateSize() => CodedOutputStream.ComputeStringSize(Name) + 1 + CodedOutputStream.ComputeInt32Size(value) + 1;

        public void WriteTo(CodedOutputStream output)
        {
            Interlocked.Increment(ref _writes);
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteString(Name);
            output.WriteTag(2, WireFormat.WireType.Varint);
            output.WriteInt32(value);
        }

        public void MergeFrom(CodedInputStream input) => throw new NotSupportedException();
    }
}
