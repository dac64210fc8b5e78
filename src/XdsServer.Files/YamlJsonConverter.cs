using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace XdsServer.Files;

/// <summary>
/// Converts YAML documents to JSON text, so that YAML goes through the same proto3 JSON parser as JSON
/// (one mapping, one set of error messages). Scalars follow the YAML 1.2 core schema: an unquoted
/// <c>true</c>/<c>false</c>, <c>null</c>/<c>~</c>/empty, integer or float becomes the JSON literal; everything
/// else (quoted or tagged <c>!!str</c>) is a string. The proto3 JSON parser accepts quoted numbers too, so
/// the only scalars where this matters are booleans and nulls.
/// </summary>
internal static partial class YamlJsonConverter
{
    private const string StringTag = "tag:yaml.org,2002:str";

    /// <summary>One JSON text per non-empty document of <paramref name="yaml"/>, with the nodes it came from (for
    /// the line and column of an error).</summary>
    /// <exception cref="YamlException">The text is not YAML (<see cref="YamlException.Start"/> says where).</exception>
    public static IReadOnlyList<YamlSourceDocument> Convert(string yaml)
    {
        var stream = new YamlStream();
        var parser = new PositionTrackingParser(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(parser);
        }
        catch (Exception e) when (e is not YamlException and not OutOfMemoryException)
        {
            // YamlDotNet's scanner throws a bare InvalidOperationException on some malformed input (a plain scalar
            // with ": " continuing an unclosed flow sequence on the next line): the place is where the last
            // well-formed part ended.
            throw new YamlException(parser.LastEnd, parser.LastEnd,
                $"malformed YAML after this point (the YAML parser failed with {e.GetType().Name}: {e.Message})", e);
        }

        var documents = new List<YamlSourceDocument>(stream.Documents.Count);
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" })
            {
                continue; // an empty document (a trailing '---', a file of comments)
            }

            documents.Add(new YamlSourceDocument(document.RootNode, ToJson(document.RootNode)));
        }

        return documents;
    }

    /// <summary>One YAML node as JSON text (also what the Kubernetes manifest reader uses).</summary>
    /// <exception cref="YamlException">A mapping key is not a scalar.</exception>
    public static string ToJson(YamlNode node)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(node, writer);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
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
                        throw new YamlException(key.Start, key.End, "Only scalar mapping keys can be converted to JSON.");
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
                throw new YamlException(node.Start, node.End, $"Unsupported YAML node {node.NodeType}.");
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

        if (IntegerPattern().IsMatch(value))
        {
            if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var signed))
            {
                writer.WriteNumberValue(signed);
                return;
            }

            if (ulong.TryParse(value.TrimStart('+'), NumberStyles.None, CultureInfo.InvariantCulture, out var unsigned))
            {
                writer.WriteNumberValue(unsigned);
                return;
            }
        }
        else if (FloatPattern().IsMatch(value)
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            && double.IsFinite(number))
        {
            writer.WriteNumberValue(number);
            return;
        }

        writer.WriteStringValue(value);
    }

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    /// <summary>A parser that remembers where the last event it produced ended.</summary>
    private sealed class PositionTrackingParser(IParser inner) : IParser
    {
        public ParsingEvent? Current => inner.Current;

        public Mark LastEnd { get; private set; } = Mark.Empty;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (inner.Current is { } current)
            {
                LastEnd = current.End;
            }

            return moved;
        }
    }
}
