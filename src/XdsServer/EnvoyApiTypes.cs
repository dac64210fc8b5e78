using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsServer;

/// <summary>
/// Every message type of the generated Envoy API (<c>XdsServer.Api</c>), for the proto3 JSON mapping of <c>Any</c>:
/// typed configs inside listeners, clusters and routes format and parse only when their type is known. Use it to
/// show or read Envoy resources as JSON (a config dump, golden files, a file of resources).
/// </summary>
public static class EnvoyApiTypes
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

    /// <summary>The registry of every Envoy API message (built once, on first use).</summary>
    public static TypeRegistry Registry => LazyRegistry.Value;

    /// <summary>A strict proto3 JSON parser knowing every Envoy API message: unknown fields are refused.</summary>
    public static JsonParser Parser { get; } = new(JsonParser.Settings.Default
        .WithTypeRegistry(Registry).WithIgnoreUnknownFields(false));

    /// <summary>A proto3 JSON formatter (one line) knowing every Envoy API message.</summary>
    public static JsonFormatter Formatter { get; } = new(JsonFormatter.Settings.Default
        .WithTypeRegistry(Registry));
}
