using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;

namespace XdsServer.Kubernetes.Internal;

/// <summary>Reads the fields of a JSON <c>spec</c> (an Istio kind's) by the rules of the proto3 JSON mapping: a
/// missing or null field is absent, numbers may be quoted; anything else of the wrong type is a
/// <see cref="SpecFormatException"/> naming the field.</summary>
internal static class SpecReader
{
    public static JsonElement? Field(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    public static string? String(JsonElement obj, string name, string path) => Field(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new SpecFormatException($"{path}.{name}", "expected a string"),
    };

    public static int? Int(JsonElement obj, string name, string path) => Field(obj, name) switch
    {
        null => null,
        { } value => IntOf(value, $"{path}.{name}"),
    };

    public static IEnumerable<(JsonElement Item, string Path)> Array(JsonElement obj, string name, string path)
    {
        switch (Field(obj, name))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.Array } array:
                return array.EnumerateArray().Select((item, i) => (item, string.Create(CultureInfo.InvariantCulture, $"{path}.{name}[{i}]")));
            default:
                throw new SpecFormatException($"{path}.{name}", "expected a list");
        }
    }

    public static IReadOnlyList<string> Strings(JsonElement obj, string name, string path) =>
        [.. Array(obj, name, path).Select(e => e.Item.ValueKind == JsonValueKind.String
            ? e.Item.GetString()!
            : throw new SpecFormatException(e.Path, "expected a string"))];

    public static JsonElement? Object(JsonElement obj, string name, string path) => Field(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } value => value,
        _ => throw new SpecFormatException($"{path}.{name}", "expected a mapping"),
    };

    public static IReadOnlyDictionary<string, string> StringMap(JsonElement obj, string name, string path)
    {
        if (Object(obj, name, path) is not { } map)
        {
            return FrozenDictionary<string, string>.Empty;
        }

        return map.EnumerateObject().ToFrozenDictionary(
            p => p.Name,
            p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new SpecFormatException($"{path}.{name}.{p.Name}", "expected a string"),
            StringComparer.Ordinal);
    }

    public static IReadOnlyDictionary<string, int> IntMap(JsonElement obj, string name, string path)
    {
        if (Object(obj, name, path) is not { } map)
        {
            return FrozenDictionary<string, int>.Empty;
        }

        return map.EnumerateObject().ToFrozenDictionary(p => p.Name, p => IntOf(p.Value, $"{path}.{name}.{p.Name}"), StringComparer.Ordinal);
    }

    private static int IntOf(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String
            && int.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out number))
        {
            return number;
        }

        throw new SpecFormatException(path, "expected a whole number");
    }
}
