using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// YAML nodes as JSON, the way <c>kubectl</c> reads a manifest: an unquoted <c>true</c>/<c>false</c>, <c>null</c>/
/// <c>~</c>/empty, integer or float is that JSON literal, everything else (quoted, or tagged <c>!!str</c>) a string.
/// And the way back: the YAML node a JSON path (<c>$.spec.ports[0].port</c>) names, for a line and column.
/// </summary>
internal static partial class YamlJson
{
    private const string StringTag = "tag:yaml.org,2002:str";

    /// <summary>The node as JSON text.</summary>
    /// <exception cref="YamlException">A mapping key is not a scalar (JSON cannot hold it).</exception>
    public static string ToJson(YamlNode node)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(node, writer);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The value of the mapping's child <paramref name="key"/>, or null.</summary>
    public static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>The text of the mapping's scalar child <paramref name="key"/>, or null when it is missing, empty or not a scalar.</summary>
    public static string? Scalar(YamlNode? node, string key) =>
        node is not null && Child(node, key) is YamlScalarNode { Value: { Length: > 0 } value } ? value : null;

    /// <summary>The deepest node along <paramref name="path"/> (<c>$.a.b[0]['c.d']</c>, or without the <c>$</c>):
    /// the node itself when it exists, else the nearest ancestor that does.</summary>
    public static YamlNode Find(YamlNode root, string path)
    {
        var node = root;
        foreach (Match segment in Segment().Matches(path))
        {
            YamlNode? next = null;
            if (segment.Groups["index"].Success)
            {
                var index = int.Parse(segment.Groups["index"].Value, CultureInfo.InvariantCulture);
                next = node is YamlSequenceNode sequence && index < sequence.Children.Count ? sequence.Children[index] : null;
            }
            else
            {
                var key = segment.Groups["quoted"].Success ? segment.Groups["quoted"].Value : segment.Groups["name"].Value;
                next = Child(node, key);
            }

            if (next is null)
            {
                break;
            }

            node = next;
        }

        return node;
    }

    private static void Write(YamlNode node, Utf8JsonWriter writer)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                writer.WriteStartObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new YamlException(key.Start, key.End, "a mapping key must be a scalar");
                    }

                    writer.WritePropertyName(name);
                    Write(value, writer);
                }

                writer.WriteEndObject();
                break;
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children)
                {
                    Write(item, writer);
                }

                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(scalar, writer);
                break;
            default:
                throw new YamlException(node.Start, node.End, $"unsupported YAML node {node.NodeType}");
        }
    }

    private static void WriteScalar(YamlScalarNode scalar, Utf8JsonWriter writer)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style != ScalarStyle.Plain || (scalar.Tag.IsGlobal && scalar.Tag.Value == StringTag))
        {
            writer.WriteStringValue(value);
            return;
        }

        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                writer.WriteNullValue();
                return;
            case "true" or "True" or "TRUE":
                writer.WriteBooleanValue(true);
                return;
            case "false" or "False" or "FALSE":
                writer.WriteBooleanValue(false);
                return;
        }

        if (IntegerPattern().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            writer.WriteNumberValue(integer);
        }
        else if (FloatPattern().IsMatch(value)
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            writer.WriteNumberValue(number);
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>[^']*)'\]|\[(?<index>[0-9]+)\]|^(?<name>[^$.\[][^.\[]*)", RegexOptions.CultureInvariant)]
    private static partial Regex Segment();

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();
}
