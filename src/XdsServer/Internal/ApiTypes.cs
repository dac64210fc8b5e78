using System.Reflection;
using Google.Protobuf.Reflection;

namespace XdsServer.Internal;

/// <summary>Every message type of the generated Envoy API, for the proto3 JSON mapping of <c>Any</c>.</summary>
internal static class ApiTypes
{
    private static readonly Lazy<TypeRegistry> LazyRegistry = new(() =>
    {
        var assembly = typeof(Envoy.Service.Discovery.V3.DiscoveryRequest).Assembly;
        var files = assembly.GetTypes()
            .Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
            .OfType<FileDescriptor>()
            .Append(Google.Protobuf.WellKnownTypes.Struct.Descriptor.File)
            .ToArray();
        return TypeRegistry.FromFiles(files);
    });

    public static TypeRegistry Registry => LazyRegistry.Value;

    public static Google.Protobuf.JsonParser Parser { get; } = new(Google.Protobuf.JsonParser.Settings.Default
        .WithTypeRegistry(Registry).WithIgnoreUnknownFields(false));

    public static Google.Protobuf.JsonFormatter Formatter { get; } = new(Google.Protobuf.JsonFormatter.Settings.Default
        .WithTypeRegistry(Registry));
}
