using System.Text.Json;
using XdsServer.Files;

namespace XdsServer.Tests.Files;

/// <summary>YAML scalars follow the YAML 1.2 core schema on their way to JSON.</summary>
public class YamlJsonConverterTests
{
    [Fact]
    public void Plain_scalars_become_json_literals_and_quoted_ones_stay_strings()
    {
        var json = Assert.Single(YamlJsonConverter.Convert("""
            flag: true
            quoted_flag: "true"
            port: 50051
            big: 18446744073709551615
            ratio: 0.25
            address: 127.0.0.1
            nothing:
            tilde: ~
            tagged: !!str 42
            list: [a, 1, false]
            empty: ""
            """)).Json;

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.True, root.GetProperty("flag").ValueKind);
        Assert.Equal("true", root.GetProperty("quoted_flag").GetString());
        Assert.Equal(50051, root.GetProperty("port").GetInt32());
        Assert.Equal(ulong.MaxValue, root.GetProperty("big").GetUInt64());
        Assert.Equal(0.25, root.GetProperty("ratio").GetDouble());
        Assert.Equal("127.0.0.1", root.GetProperty("address").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("nothing").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tilde").ValueKind);
        Assert.Equal("42", root.GetProperty("tagged").GetString());
        Assert.Equal("""["a",1,false]""", root.GetProperty("list").GetRawText());
        Assert.Equal("", root.GetProperty("empty").GetString());
    }

    [Fact]
    public void Each_document_is_converted_and_empty_documents_are_skipped()
    {
        var documents = YamlJsonConverter.Convert("a: 1\n---\n# only a comment\n---\nb: 2\n---\n");
        Assert.Equal(["""{"a":1}""", """{"b":2}"""], documents.Select(d => d.Json));
        Assert.Equal([new SourcePosition(1, 1), new SourcePosition(5, 1)], documents.Select(d => d.Start));
    }
}
