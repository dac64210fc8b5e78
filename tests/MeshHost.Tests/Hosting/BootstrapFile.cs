using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace MeshHost.Tests.Hosting;

/// <summary>The client bootstrap files of examples/bootstrap, read as their clients read them: the gRPC bootstrap as
/// JSON, the Envoy bootstrap as YAML turned into the JSON tree Envoy's YAML loader builds (plain scalars that look
/// like numbers or booleans become numbers and booleans).</summary>
internal static partial class BootstrapFile
{
    /// <summary>The path the READMEs give for a bootstrap file, relative to the repository root.</summary>
    public static string PathOf(string name) => Path.Combine("examples", "bootstrap", name);

    /// <summary>A bootstrap file's text.</summary>
    public static string Read(string name) => File.ReadAllText(Path.Combine(MeshHostProcess.RepositoryRoot, PathOf(name)));

    /// <summary>The single YAML document of <paramref name="yaml"/> as a JSON tree.</summary>
    public static JsonNode YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        Assert.True(stream.Documents.Count == 1, $"want one YAML document, found {stream.Documents.Count}");
        return Convert(stream.Documents[0].RootNode)!;
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Convert(c.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(Convert)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } s when s.Value is "true" or "false" => JsonValue.Create(s.Value == "true"),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } s when s.Value is "null" or "~" or "" => null,
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } s when Integer().IsMatch(s.Value!) => JsonValue.Create(long.Parse(s.Value!, CultureInfo.InvariantCulture)),
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => throw new InvalidDataException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    [GeneratedRegex(@"^-?[0-9]+$")]
    private static partial Regex Integer();
}
