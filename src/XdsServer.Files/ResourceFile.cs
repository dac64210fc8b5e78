using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;

namespace XdsServer.Files;

/// <summary>
/// One resource file as last read: its identity (last-write time and length) and either its resources or
/// why it was rejected. Immutable; an unchanged file keeps its instance, so its resources (already
/// serialized and hashed) are reused as they are by the next snapshot.
/// </summary>
internal sealed class ResourceFile
{
    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    private ResourceFile(string path, DateTime lastWriteUtc, long length, IReadOnlyList<XdsResource> resources, string? error)
    {
        Path = path;
        LastWriteUtc = lastWriteUtc;
        Length = length;
        Resources = resources;
        Error = error;
    }

    /// <summary>The path relative to the folder, with forward slashes.</summary>
    public string Path { get; }

    public DateTime LastWriteUtc { get; }

    public long Length { get; }

    /// <summary>The resources (empty when the file was rejected).</summary>
    public IReadOnlyList<XdsResource> Resources { get; }

    /// <summary>Why the file was rejected, or null.</summary>
    public string? Error { get; }

    /// <summary>Whether <paramref name="name"/> is a resource file name: <c>*.yaml</c>, <c>*.yml</c> or <c>*.json</c>,
    /// not hidden.</summary>
    public static bool IsResourceFileName(string name) =>
        !name.StartsWith('.')
        && (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase));

    /// <summary>True when the file on disk still has the identity this read was made from. Last-write time
    /// plus length is what a rescan can afford to compare; an editor that rewrites a file keeps neither.</summary>
    public bool IsSameVersion(DateTime lastWriteUtc, long length) => LastWriteUtc == lastWriteUtc && Length == length;

    /// <summary>Reads and parses a file. Never throws for bad content: the reason is kept in <see cref="Error"/>.</summary>
    /// <exception cref="FileNotFoundException">The file disappeared before it could be read.</exception>
    public static ResourceFile Read(string fullPath, string relativePath, DateTime lastWriteUtc, long length, ResourceTypeRegistry registry)
    {
        string text;
        try
        {
            // Share everything: a writer that is still busy must not fail because we read.
            using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException and not FileNotFoundException and not DirectoryNotFoundException)
        {
            return new ResourceFile(relativePath, lastWriteUtc, length, [], $"cannot be read: {e.Message}");
        }

        var yaml = !relativePath.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        try
        {
            return new ResourceFile(relativePath, lastWriteUtc, length, Parse(text, yaml, registry), null);
        }
        catch (ResourceFileException e)
        {
            return new ResourceFile(relativePath, lastWriteUtc, length, [], e.Message);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            return new ResourceFile(relativePath, lastWriteUtc, length, [], $"not valid YAML: {e.Message}");
        }
        catch (JsonException e)
        {
            return new ResourceFile(relativePath, lastWriteUtc, length, [], $"not valid JSON: {e.Message}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Bad input never takes the source down: whatever a parser throws is this file's problem.
            return new ResourceFile(relativePath, lastWriteUtc, length, [], $"cannot be parsed: {e.Message}");
        }
    }

    /// <summary>Parses the resources of one file's text.</summary>
    /// <exception cref="ResourceFileException">The content is not a resource or a list of resources.</exception>
    internal static IReadOnlyList<XdsResource> Parse(string text, bool yaml, ResourceTypeRegistry registry)
    {
        var documents = string.IsNullOrWhiteSpace(text) ? [] : yaml ? YamlJsonConverter.Convert(text) : [text];
        if (documents.Count == 0)
        {
            // Most often a file caught between an editor's truncate and write: publishing it as "no resources"
            // would remove them for a moment. An intentionally empty file says so: {"resources": []}.
            throw new ResourceFileException("the file is empty (write {\"resources\": []} for a file without resources)");
        }

        var resources = new List<XdsResource>();
        for (var d = 0; d < documents.Count; d++)
        {
            var where = documents.Count > 1 ? $"document {d + 1}: " : string.Empty;
            using var json = JsonDocument.Parse(documents[d], JsonOptions);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ResourceFileException($"{where}expected an object with \"@type\" or {{\"resources\": [...]}}, found {Describe(root.ValueKind)}");
            }

            if (root.TryGetProperty("@type", out _))
            {
                resources.Add(ParseResource(root, where, registry));
                continue;
            }

            // {"resources": [...]}: also Envoy's file-based subscription format (a DiscoveryResponse), whose
            // version_info and type_url carry nothing we need: versions come from the content.
            if (!root.TryGetProperty("resources", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new ResourceFileException($"{where}expected an object with \"@type\" or {{\"resources\": [...]}}");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("resources" or "version_info" or "versionInfo" or "type_url" or "typeUrl"))
                {
                    throw new ResourceFileException($"{where}unexpected field \"{property.Name}\" next to \"resources\"");
                }
            }

            var i = 0;
            foreach (var element in list.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("@type", out _))
                {
                    throw new ResourceFileException($"{where}resources[{i}] is not an object with \"@type\"");
                }

                resources.Add(ParseResource(element, $"{where}resources[{i}]: ", registry));
                i++;
            }
        }

        var seen = new HashSet<(string, string)>();
        foreach (var resource in resources)
        {
            if (!seen.Add((resource.TypeUrl, resource.Name)))
            {
                throw new ResourceFileException($"{resource.Type.ShortName} '{resource.Name}' is defined twice in this file");
            }
        }

        return resources;
    }

    private static XdsResource ParseResource(JsonElement element, string where, ResourceTypeRegistry registry)
    {
        var typeUrl = element.GetProperty("@type") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : string.Empty;
        if (!registry.TryGet(typeUrl, out var type))
        {
            throw new ResourceFileException(
                $"{where}\"@type\" '{typeUrl}' is not a resource type this server serves (one of: {string.Join(", ", registry.Types.Select(r => r.TypeUrl))})");
        }

        IMessage message;
        try
        {
            // The proto3 JSON mapping of Any, with every generated Envoy message in the type registry, so nested
            // Any fields (typed_config, api_listener) are parsed too; then the Any is unpacked through the
            // registry's descriptor, giving the concrete message.
            var any = EnvoyApiTypes.Parser.Parse<Any>(element.GetRawText());
            var descriptor = EnvoyApiTypes.Registry.Find(Any.GetTypeName(any.TypeUrl))
                ?? throw new ResourceFileException($"{where}no generated message for '{typeUrl}'");
            message = descriptor.Parser.ParseFrom(any.Value);
        }
        catch (Exception e) when (e is InvalidJsonException or InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
            throw new ResourceFileException($"{where}{type.ShortName}: {e.Message}");
        }

        XdsResource resource;
        try
        {
            resource = XdsResource.Create(type, message);
        }
        catch (ArgumentException e)
        {
            throw new ResourceFileException($"{where}{type.ShortName}: {e.Message}");
        }

        if (resource.ReferenceError is { } error)
        {
            throw new ResourceFileException($"{where}{resource.Type.ShortName} '{resource.Name}': {error}");
        }

        return resource;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}

/// <summary>A resource file's content is not what it should be; the message says why.</summary>
internal sealed class ResourceFileException(string message) : Exception(message);
