using System.Text;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace XdsServer.Files;

/// <summary>A place in a file: line and column, both from 1 (the column counts characters).</summary>
internal readonly record struct SourcePosition(int Line, int Column);

/// <summary>
/// One document of a resource file: its JSON text (what the proto3 JSON parser reads) and the way back from a
/// path in that JSON (property names and array indexes) to a line and column of the file, so that an error names
/// the place a person has to edit.
/// </summary>
internal abstract class SourceDocument
{
    /// <summary>The document as JSON text.</summary>
    public abstract string Json { get; }

    /// <summary>Where the value at <paramref name="path"/> starts (for a path ending in a property name: where that
    /// name starts); the nearest ancestor that exists when the path goes further than the document.</summary>
    /// <param name="path">Property names (<see cref="string"/>) and array indexes (<see cref="int"/>) from the root.</param>
    public abstract SourcePosition Find(IReadOnlyList<object> path);
}

/// <summary>A JSON file: the text is the document. Positions are found by reading the text again (only when an
/// error is reported, so nothing is kept for the good case).</summary>
internal sealed class JsonSourceDocument(string text) : SourceDocument
{
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    public override string Json => text;

    public override SourcePosition Find(IReadOnlyList<object> path)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        var offset = 0L;
        try
        {
            if (reader.Read())
            {
                offset = Descend(ref reader, path, 0);
            }
        }
        catch (JsonException)
        {
            // Only valid documents get here; whatever was found before the reader stopped is the answer.
        }

        return PositionOf(utf8, offset);
    }

    /// <summary>The line and column of a JSON reader error (its line and byte position count from 0).</summary>
    public static SourcePosition PositionOf(string text, JsonException error)
    {
        var line = (int)(error.LineNumber ?? 0);
        var bytes = (int)(error.BytePositionInLine ?? 0);
        var lineText = text.Split('\n').ElementAtOrDefault(line) ?? string.Empty;
        var lineUtf8 = Encoding.UTF8.GetBytes(lineText);
        return new SourcePosition(line + 1, Encoding.UTF8.GetCharCount(lineUtf8, 0, Math.Min(bytes, lineUtf8.Length)) + 1);
    }

    /// <summary>The reader is on the first token of the value at <c>path[..depth]</c>; returns the byte offset of
    /// the value at <paramref name="path"/>, or of the deepest part of it that exists.</summary>
    private static long Descend(ref Utf8JsonReader reader, IReadOnlyList<object> path, int depth)
    {
        var here = reader.TokenStartIndex;
        if (depth == path.Count)
        {
            return here;
        }

        if (reader.TokenType == JsonTokenType.StartObject && path[depth] is string name)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var found = reader.ValueTextEquals(name);
                var nameStart = reader.TokenStartIndex;
                reader.Read();
                if (found)
                {
                    return depth + 1 == path.Count ? nameStart : Descend(ref reader, path, depth + 1);
                }

                reader.Skip();
            }
        }
        else if (reader.TokenType == JsonTokenType.StartArray && path[depth] is int index)
        {
            for (var i = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; i++)
            {
                if (i == index)
                {
                    return Descend(ref reader, path, depth + 1);
                }

                reader.Skip();
            }
        }

        return here;
    }

    private static SourcePosition PositionOf(byte[] utf8, long offset)
    {
        var end = (int)Math.Min(offset, utf8.Length);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < end; i++)
        {
            if (utf8[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new SourcePosition(line, Encoding.UTF8.GetCharCount(utf8, lineStart, end - lineStart) + 1);
    }
}

/// <summary>A YAML document: converted to JSON once, its nodes kept for positions.</summary>
internal sealed class YamlSourceDocument(YamlNode root, string json) : SourceDocument
{
    public override string Json => json;

    /// <summary>Where the document's content starts.</summary>
    public SourcePosition Start => new((int)root.Start.Line, (int)root.Start.Column);

    public override SourcePosition Find(IReadOnlyList<object> path)
    {
        var node = root;
        for (var depth = 0; depth < path.Count; depth++)
        {
            switch (path[depth])
            {
                case string name when node is YamlMappingNode mapping:
                    var entry = mapping.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: { } key } && key == name);
                    if (entry.Key is null)
                    {
                        return At(node);
                    }

                    if (depth == path.Count - 1)
                    {
                        return At(entry.Key);
                    }

                    node = entry.Value;
                    break;
                case int index when node is YamlSequenceNode sequence && index < sequence.Children.Count:
                    node = sequence.Children[index];
                    break;
                default:
                    return At(node);
            }
        }

        return At(node);
    }

    private static SourcePosition At(YamlNode node) => new((int)node.Start.Line, (int)node.Start.Column);
}
