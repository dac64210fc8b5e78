using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Reflection;

namespace XdsServer.Files;

/// <summary>
/// Finds where in a JSON object the proto3 JSON parser failed. The parser says what is wrong ("Unknown field",
/// a wrong token type) but not where, so, only after a failure, each property is parsed again on its own against
/// the message descriptor, descending into the one that fails (messages, repeated messages, map values and
/// <c>Any</c> by its <c>"@type"</c>) until the smallest failing part is found.
/// </summary>
internal static class ProtoJsonFault
{
    private const int MaxDepth = 64;

    /// <summary>The path (property names and array indexes, from <paramref name="element"/>) of the smallest part
    /// that does not parse as <paramref name="descriptor"/>; empty when no single part fails on its own (a oneof
    /// set twice, say).</summary>
    public static IReadOnlyList<object> Find(JsonElement element, MessageDescriptor descriptor)
    {
        var path = new List<object>();
        Descend(element, descriptor, path, 0);
        return path;
    }

    private static void Descend(JsonElement element, MessageDescriptor descriptor, List<object> path, int depth)
    {
        if (depth > MaxDepth || element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (descriptor.FullName == "google.protobuf.Any")
        {
            var typeName = element.TryGetProperty("@type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : string.Empty;
            var inner = EnvoyApiTypes.Registry.Find(typeName[(typeName.LastIndexOf('/') + 1)..]);
            if (inner is null)
            {
                path.Add("@type");
                return;
            }

            descriptor = inner;
        }

        if (descriptor.File.Package == "google.protobuf")
        {
            return; // a well-known type with its own JSON form (Duration, Struct, wrappers): the value as a whole
        }

        foreach (var property in element.EnumerateObject())
        {
            if (property.Name == "@type")
            {
                continue;
            }

            var field = descriptor.FindFieldByName(property.Name)
                ?? descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == property.Name);
            if (field is null)
            {
                path.Add(property.Name); // an unknown field
                return;
            }

            if (Parses($"{{{Quote(property.Name)}:{property.Value.GetRawText()}}}", descriptor, element))
            {
                continue;
            }

            path.Add(property.Name);
            if (field.FieldType != FieldType.Message && !field.IsMap)
            {
                return;
            }

            if (field.IsMap)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                if (valueField.FieldType == FieldType.Message && property.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var entry in property.Value.EnumerateObject())
                    {
                        if (!Parses($"{{{Quote(property.Name)}:{{{Quote(entry.Name)}:{entry.Value.GetRawText()}}}}}", descriptor, element))
                        {
                            path.Add(entry.Name);
                            Descend(entry.Value, valueField.MessageType, path, depth + 1);
                            return;
                        }
                    }
                }

                return;
            }

            if (field.IsRepeated)
            {
                if (property.Value.ValueKind == JsonValueKind.Array)
                {
                    var index = 0;
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        if (!Parses($"{{{Quote(property.Name)}:[{item.GetRawText()}]}}", descriptor, element))
                        {
                            path.Add(index);
                            Descend(item, field.MessageType, path, depth + 1);
                            return;
                        }

                        index++;
                    }
                }

                return;
            }

            Descend(property.Value, field.MessageType, path, depth + 1);
            return;
        }
    }

    /// <summary>Whether <paramref name="json"/> parses as the message (an <c>Any</c>'s content keeps its <c>"@type"</c>).</summary>
    private static bool Parses(string json, MessageDescriptor descriptor, JsonElement container)
    {
        if (container.TryGetProperty("@type", out var type) && type.ValueKind == JsonValueKind.String)
        {
            json = $"{{\"@type\":{Quote(type.GetString()!)},{json[1..]}";
            descriptor = Google.Protobuf.WellKnownTypes.Any.Descriptor;
        }

        try
        {
            EnvoyApiTypes.Parser.Parse(json, descriptor);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    private static string Quote(string value) => JsonSerializer.Serialize(value);

    /// <summary>The path as a person reads it: <c>filter_chains[0].filters[0].typed_config</c>.</summary>
    public static string Describe(IReadOnlyList<object> path) =>
        string.Concat(path.Select((step, i) => step is int index
            ? string.Create(CultureInfo.InvariantCulture, $"[{index}]")
            : i == 0 ? (string)step : "." + step));
}
