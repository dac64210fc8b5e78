using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace XdsServer.Ca.Internal;

/// <summary>
/// Parses a static token file: one JSON object mapping each bearer token to the SPIFFE ID it proves. Each token
/// may appear once and each identity may be proven by one token only (so revoking an identity is removing its one
/// line). Errors name the file and the entry by number and line, and the value when it is not a token; a token
/// never appears in a message.
/// </summary>
internal static class TokenFile
{
    /// <summary>Parses <paramref name="content"/> (UTF-8, optionally with a byte order mark) into a map from
    /// <see cref="Hash"/> of each token to its identity.</summary>
    /// <exception cref="InvalidDataException">The content is not such an object; the message says where.</exception>
    public static FrozenDictionary<string, SpiffeId> Parse(ReadOnlySpan<byte> content, string path)
    {
        if (content.StartsWith(Encoding.UTF8.Preamble))
        {
            content = content[Encoding.UTF8.Preamble.Length..];
        }
        var tokens = new Dictionary<string, SpiffeId>(StringComparer.Ordinal);
        var tokenLines = new Dictionary<string, (int Entry, int Line)>(StringComparer.Ordinal);
        var identityLines = new Dictionary<SpiffeId, (int Entry, int Line)>();
        var reader = new Utf8JsonReader(content);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException(
                    $"Token file \"{path}\" must hold a JSON object mapping bearer tokens to SPIFFE IDs, not {Describe(reader.TokenType)}.");
            }
            var entry = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                entry++;
                var line = LineOf(content, reader.TokenStartIndex);
                var where = $"Token file \"{path}\": entry {entry} on line {line}";
                var token = reader.GetString()!;
                if (token.Length == 0)
                {
                    throw new InvalidDataException($"{where} has an empty token.");
                }
                var hash = Hash(token);
                if (tokenLines.TryGetValue(hash, out var first))
                {
                    throw new InvalidDataException($"{where} repeats the token of entry {first.Entry} on line {first.Line}; each token may appear once.");
                }
                tokenLines.Add(hash, (entry, line));

                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw new InvalidDataException($"{where} maps to {Describe(reader.TokenType)}, not a SPIFFE ID string.");
                }
                var value = reader.GetString()!;
                if (!SpiffeId.TryParse(value, out var identity, out var error))
                {
                    // A value that is no URI at all may be a token written on the wrong side: not shown.
                    var shown = value.Contains("://", StringComparison.Ordinal) ? $"\"{value}\"" : "a string (not shown: it is no URI, so it may be a token written on the wrong side)";
                    throw new InvalidDataException($"{where} maps to {shown}, which is not a SPIFFE ID: {error}");
                }
                if (identityLines.TryGetValue(identity, out var other))
                {
                    throw new InvalidDataException(
                        $"{where} maps to {identity}, which entry {other.Entry} on line {other.Line} already maps to; give each identity one token.");
                }
                identityLines.Add(identity, (entry, line));
                tokens.Add(hash, identity);
            }
            // The loop ends at the object's end; anything after it is refused by the reader.
            if (reader.Read())
            {
                throw new InvalidDataException($"Token file \"{path}\" has content after its JSON object (line {LineOf(content, reader.TokenStartIndex)}).");
            }
        }
        catch (JsonException ex)
        {
            // The reader's messages give a position and at most one character, never a token.
            throw new InvalidDataException($"Token file \"{path}\" is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // GetString on a string that is not valid UTF-8.
            throw new InvalidDataException($"Token file \"{path}\" is not valid UTF-8: {ex.Message}", ex);
        }
        return tokens.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The key a token is found by: its SHA-256, so a lookup's timing says nothing about how much of a
    /// token matched.</summary>
    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static int LineOf(ReadOnlySpan<byte> content, long index) => content[..(int)index].Count((byte)'\n') + 1;

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "nothing",
    };
}
