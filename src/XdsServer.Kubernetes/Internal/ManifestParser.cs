using System.Collections.Frozen;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using XdsServer.Discovery;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// Reads one manifest file: YAML (JSON is YAML too) of any number of <c>---</c> documents, each a Kubernetes object
/// or a <c>kind: List</c> (or <c>…List</c>) of them in <c>items</c>. Services, EndpointSlices, Pods, Namespaces and
/// Nodes become KubernetesClient's typed models; every other kind a <see cref="GenericObject"/>. Each object is
/// translated at once, so a spec the translator cannot read is a problem of its document. A bad document is a
/// <see cref="ManifestProblem"/> with the line and column of the offending node; the file's other documents are
/// still read (except after a YAML syntax error, which spoils the whole file).
/// </summary>
internal static partial class ManifestParser
{
    private static readonly FrozenDictionary<string, Func<string, IKubernetesObject<V1ObjectMeta>>> Typed =
        new Dictionary<string, Func<string, IKubernetesObject<V1ObjectMeta>>>(StringComparer.Ordinal)
        {
            ["v1/Service"] = json => KubernetesJson.Deserialize<V1Service>(json),
            ["v1/Pod"] = json => KubernetesJson.Deserialize<V1Pod>(json),
            ["v1/Namespace"] = json => KubernetesJson.Deserialize<V1Namespace>(json),
            ["v1/Node"] = json => KubernetesJson.Deserialize<V1Node>(json),
            ["discovery.k8s.io/v1/EndpointSlice"] = json => KubernetesJson.Deserialize<V1EndpointSlice>(json),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    public static ManifestFile Parse(string file, string text, KubernetesTranslator translator)
    {
        var context = new Context(file, translator);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            context.Problems.Add(new ManifestProblem { File = file, Line = (int)e.Start.Line, Column = (int)e.Start.Column, Reason = ReasonOf(e) });
            return context.Result;
        }

        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" })
            {
                continue; // an empty document: a trailing '---', a file of comments
            }

            ParseObject(document.RootNode, context);
        }

        return context.Result;
    }

    private static void ParseObject(YamlNode node, Context context)
    {
        if (node is not YamlMappingNode map)
        {
            context.Fail(node, null, null, null, $"a document must be a mapping (a Kubernetes object), not a {node.NodeType.ToString().ToLowerInvariant()}");
            return;
        }

        var apiVersion = YamlJson.Scalar(map, "apiVersion");
        var kind = YamlJson.Scalar(map, "kind");
        var metadata = YamlJson.Child(map, "metadata");
        var name = YamlJson.Scalar(metadata, "name");
        var givenNamespace = YamlJson.Scalar(metadata, "namespace");
        if (kind is null)
        {
            context.Fail(map, null, givenNamespace, name, "kind is missing");
            return;
        }

        if (kind.EndsWith("List", StringComparison.Ordinal) && YamlJson.Child(map, "items") is { } items)
        {
            if (items is not YamlSequenceNode list)
            {
                context.Fail(items, kind, givenNamespace, name, "items must be a list");
                return;
            }

            foreach (var item in list.Children)
            {
                ParseObject(item, context);
            }

            return;
        }

        var registryKind = KubernetesTranslator.KindOf(apiVersion, kind);
        var ns = KubernetesTranslator.IsClusterScoped(registryKind) ? null : givenNamespace ?? "default";
        if (apiVersion is null)
        {
            context.Fail(map, kind, ns, name, "apiVersion is missing");
            return;
        }

        if (name is null)
        {
            context.Fail(metadata ?? map, kind, ns, null, "metadata.name is missing");
            return;
        }

        IKubernetesObject<V1ObjectMeta> obj;
        try
        {
            var json = YamlJson.ToJson(map);
            obj = Typed.TryGetValue($"{apiVersion}/{kind}", out var deserialize) ? deserialize(json) : Generic(json, apiVersion, kind);
        }
        catch (YamlException e)
        {
            context.Fail(e.Start, kind, ns, name, ReasonOf(e));
            return;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or FormatException or InvalidOperationException or ArgumentException)
        {
            // The JSON path of a type mismatch leads back to its YAML node, hence to its line.
            var path = (e as JsonException)?.Path ?? (MessagePath().Match(e.Message) is { Success: true } m ? m.Groups[1].Value : null);
            context.Fail(path is null ? map : YamlJson.Find(map, path), kind, ns, name, DescribeTypeError(e, path));
            return;
        }

        obj.Metadata ??= new V1ObjectMeta();
        obj.Metadata.NamespaceProperty = ns;
        // Ignored: a manifest exported from a cluster keeps its resourceVersion, and an edit must still count.
        obj.Metadata.ResourceVersion = null;
        IReadOnlyList<RegistryObject> translated;
        try
        {
            translated = context.Translator.Translate(obj);
        }
        catch (SpecFormatException e)
        {
            context.Fail(YamlJson.Find(map, e.FieldPath), kind, ns, name, $"{e.FieldPath}: {e.Reason}");
            return;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            context.Fail(map, kind, ns, name, e.Message);
            return;
        }

        context.Entries.Add(new ManifestEntry(new ObjectKey(registryKind, ns ?? string.Empty, name), obj, translated,
            context.File, (int)map.Start.Line, (int)map.Start.Column));
    }

    private static GenericObject Generic(string json, string apiVersion, string kind)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        V1ObjectMeta? metadata = null;
        if (root.TryGetProperty("metadata", out var meta))
        {
            try
            {
                metadata = KubernetesJson.Deserialize<V1ObjectMeta>(meta);
            }
            catch (JsonException e)
            {
                throw new JsonException(e.Message, "$.metadata" + (e.Path ?? "$")[1..], null, null, e);
            }
        }

        JsonElement spec;
        if (!root.TryGetProperty("spec", out var given) || given.ValueKind == JsonValueKind.Null)
        {
            using var empty = JsonDocument.Parse("{}");
            spec = empty.RootElement.Clone();
        }
        else
        {
            spec = given.ValueKind == JsonValueKind.Object ? given.Clone() : throw new JsonException("spec must be a mapping", "$.spec", null, null);
        }

        return new GenericObject { ApiVersion = apiVersion, Kind = kind, Metadata = metadata ?? new V1ObjectMeta(), Spec = spec };
    }

    /// <summary>A type error in words: the converter's message without its JSON position (which is of the converted
    /// text, not the file), and the field.</summary>
    private static string DescribeTypeError(Exception e, string? path)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        if (e is NotSupportedException)
        {
            message = "the value has the wrong type";
        }

        var field = path is null ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return string.IsNullOrEmpty(field) ? message.TrimEnd('.') : $"{field}: {message.TrimEnd('.')}";
    }

    private static string ReasonOf(YamlException e)
    {
        var message = e.InnerException is YamlException inner && !string.IsNullOrEmpty(inner.Message) ? inner.Message : e.Message;
        return MarkPrefix().Replace(message, string.Empty);
    }

    [GeneratedRegex(@"Path: (\$\S*) \|", RegexOptions.CultureInvariant)]
    private static partial Regex MessagePath();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex MarkPrefix();

    private sealed class Context(string file, KubernetesTranslator translator)
    {
        public string File { get; } = file;

        public KubernetesTranslator Translator { get; } = translator;

        public List<ManifestEntry> Entries { get; } = [];

        public List<ManifestProblem> Problems { get; } = [];

        public ManifestFile Result => new(Entries, Problems);

        public void Fail(YamlNode at, string? kind, string? ns, string? name, string reason) => Fail(at.Start, kind, ns, name, reason);

        public void Fail(Mark at, string? kind, string? ns, string? name, string reason) => Problems.Add(new ManifestProblem
        {
            File = File,
            Line = (int)at.Line,
            Column = (int)at.Column,
            Kind = kind,
            Namespace = ns,
            Name = name,
            Reason = reason,
        });
    }
}
