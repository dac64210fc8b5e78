using System.Globalization;
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
    /// <summary>The node as JSON text (the converter the file resource source uses).</summary>
    /// <exception cref="YamlException">A mapping key is not a scalar (JSON cannot hold it).</exception>
    public static string ToJson(YamlNode node) => XdsServer.Files.YamlJsonConverter.ToJson(node);

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

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>[^']*)'\]|\[(?<index>[0-9]+)\]|^(?<name>[^$.\[][^.\[]*)", RegexOptions.CultureInvariant)]
    private static partial Regex Segment();
}
