using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using System.Text.RegularExpressions;
using XdsServer.Cache;
using YamlDotNet.Core;

namespace XdsServer.Files;

/// <summary>
/// One resource file as last read: its identity (last-write time and length) and either its resources or
/// why it was rejected. Immutable; an unchanged file keeps its instance, so its resources (already
/// serialized and hashed) are reused as they are by the next snapshot.
/// </summary>
internal sealed partial class ResourceFile
{
    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    private ResourceFile(string path, DateTime lastWriteUtc, long length, IReadOnlyList<ParsedResource> resources, FileResourceError? error)
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

    /// <summary>The resources, each with where it starts in the file (empty when the file was rejected).</summary>
    public IReadOnlyList<ParsedResource> Resources { get; }

    /// <summary>Why the file was rejected (and where, when a place in it is at fault), or null.</summary>
    public FileResourceError? Error { get; }

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
            return Rejected(new FileResourceError(relativePath, $"cannot be read: {e.Message}"));
        }

        var yaml = !relativePath.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        try
        {
            return new ResourceFile(relativePath, lastWriteUtc, length, Parse(text, yaml, registry), null);
        }
        catch (ResourceFileException e)
        {
            return Rejected(new FileResourceError(relativePath, e.Message)
            {
                Line = e.Position?.Line,
                Column = e.Position?.Column,
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Bad input never takes the source down: whatever a parser throws is this file's problem.
            return Rejected(new FileResourceError(relativePath, $"cannot be parsed: {e.Message}"));
        }

        ResourceFile Rejected(FileResourceError error) => new(relativePath, lastWriteUtc, length, [], error);
    }

    /// <summary>Parses the resources of one file's text.</summary>
    /// <exception cref="ResourceFileException">The content is not a resource or a list of resources; the
    /// exception says where when a place in the text is at fault.</exception>
    internal static IReadOnlyList<ParsedResource> Parse(string text, bool yaml, ResourceTypeRegistry registry)
    {
        var documents = string.IsNullOrWhiteSpace(text) ? [] : yaml ? ConvertYaml(text) : [new JsonSourceDocument(text)];
        if (documents.Count == 0)
        {
            // Most often a file caught between an editor's truncate and write: publishing it as "no resources"
            // would remove them for a moment. An intentionally empty file says so: {"resources": []}.
            throw new ResourceFileException("the file is empty (write {\"resources\": []} for a file without resources)");
        }

        var resources = new List<ParsedResource>();
        for (var d = 0; d < documents.Count; d++)
        {
            var document = documents[d];
            var where = documents.Count > 1 ? $"document {d + 1}: " : string.Empty;
            using var json = ParseJson(document);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ResourceFileException($"{where}expected an object with \"@type\" or {{\"resources\": [...]}}, found {Describe(root.ValueKind)}", document.Find([]));
            }

            if (root.TryGetProperty("@type", out _))
            {
                resources.Add(ParseResource(root, document, [], where, registry));
                continue;
            }

            // {"resources": [...]}: also Envoy's file-based subscription format (a DiscoveryResponse), whose
            // version_info and type_url carry nothing we need: versions come from the content.
            if (!root.TryGetProperty("resources", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new ResourceFileException($"{where}expected an object with \"@type\" or {{\"resources\": [...]}}", document.Find([]));
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("resources" or "version_info" or "versionInfo" or "type_url" or "typeUrl"))
                {
                    throw new ResourceFileException($"{where}unexpected field \"{property.Name}\" next to \"resources\"", document.Find([property.Name]));
                }
            }

            var i = 0;
            foreach (var element in list.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("@type", out _))
                {
                    throw new ResourceFileException($"{where}resources[{i}] is not an object with \"@type\"", document.Find(["resources", i]));
                }

                resources.Add(ParseResource(element, document, ["resources", i], $"{where}resources[{i}]: ", registry));
                i++;
            }
        }

        var seen = new HashSet<(string, string)>();
        foreach (var (resource, position) in resources)
        {
            if (!seen.Add((resource.TypeUrl, resource.Name)))
            {
                throw new ResourceFileException($"{resource.Type.ShortName} '{resource.Name}' is defined twice in this file", position);
            }
        }

        return resources;
    }

    private static IReadOnlyList<SourceDocument> ConvertYaml(string text)
    {
        try
        {
            return YamlJsonConverter.Convert(text);
        }
        catch (YamlException e)
        {
            // YamlDotNet puts both marks in front of the message ("(Line: 3, Col: 5, Idx: 20) - (...): ..."); the
            // position is reported on its own.
            var message = e.InnerException is YamlException inner && inner.Message.Length > 0 ? inner.Message : e.Message;
            message = MarksPrefix().Replace(message, string.Empty);
            throw new ResourceFileException($"not valid YAML: {message}", new SourcePosition((int)e.Start.Line, (int)e.Start.Column));
        }
    }

    private static JsonDocument ParseJson(SourceDocument document)
    {
        try
        {
            return JsonDocument.Parse(document.Json, JsonOptions);
        }
        catch (JsonException e)
        {
            // System.Text.Json ends its message with " LineNumber: 2 | BytePositionInLine: 7."; the position is
            // reported on its own, counted from 1 and in characters.
            var message = JsonPositionSuffix().Replace(e.Message, string.Empty);
            throw new ResourceFileException($"not valid JSON: {message}", JsonSourceDocument.PositionOf(document.Json, e));
        }
    }

    private static ParsedResource ParseResource(JsonElement element, SourceDocument document, IReadOnlyList<object> path, string where, ResourceTypeRegistry registry)
    {
        var start = document.Find(path);
        var typeUrl = element.GetProperty("@type") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : string.Empty;
        if (!registry.TryGet(typeUrl, out var type))
        {
            throw new ResourceFileException(
                $"{where}\"@type\" '{typeUrl}' is not a resource type this server serves (one of: {string.Join(", ", registry.Types.Select(r => r.TypeUrl))})",
                document.Find([.. path, "@type"]));
        }

        IMessage message;
        try
        {
            // The proto3 JSON mapping of Any, with every generated Envoy message in the type registry, so nested
            // Any fields (typed_config, api_listener) are parsed too; then the Any is unpacked through the
            // registry's descriptor, giving the concrete message.
            var any = EnvoyApiTypes.Parser.Parse<Any>(element.GetRawText());
            var descriptor = EnvoyApiTypes.Registry.Find(Any.GetTypeName(any.TypeUrl))
                ?? throw new ResourceFileException($"{where}no generated message for '{typeUrl}'", start);
            message = descriptor.Parser.ParseFrom(any.Value);
        }
        catch (Exception e) when (e is InvalidJsonException or InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
            // The parser says what, not where: find the smallest part of the resource that fails on its own.
            var fault = ProtoJsonFault.Find(element, Any.Descriptor);
            var at = fault.Count == 0 ? string.Empty : $" (at {ProtoJsonFault.Describe(fault)})";
            throw new ResourceFileException($"{where}{type.ShortName}: {e.Message}{at}", document.Find([.. path, .. fault]));
        }

        XdsResource resource;
        try
        {
            resource = XdsResource.Create(type, message);
        }
        catch (ArgumentException e)
        {
            throw new ResourceFileException($"{where}{type.ShortName}: {e.Message}", start);
        }

        if (resource.ReferenceError is { } error)
        {
            throw new ResourceFileException($"{where}{resource.Type.ShortName} '{resource.Name}': {error}", start);
        }

        return new ParsedResource(resource, start);
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex MarksPrefix();

    [GeneratedRegex(@" ?(Path: \S+ \| )?LineNumber: \d+ \| BytePositionInLine: \d+\.$", RegexOptions.CultureInvariant)]
    private static partial Regex JsonPositionSuffix();

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}

/// <summary>A resource of a file and where it starts in the file.</summary>
internal readonly record struct ParsedResource(XdsResource Resource, SourcePosition Position);

/// <summary>A resource file's content is not what it should be; the message says why, the position where (when
/// a place in the file is at fault).</summary>
internal sealed class ResourceFileException(string message, SourcePosition? position = null) : Exception(message)
{
    public SourcePosition? Position { get; } = position;
}
