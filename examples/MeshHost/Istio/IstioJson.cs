using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MeshHost.Istio;

/// <summary>Reading Istio specs: the JSON options of the spec classes, and Istio's duration strings.</summary>
public static class IstioJson
{
    /// <summary>camelCase properties as Istio's CRDs write them, case-insensitive, enums as strings; unknown fields
    /// are ignored (Istio's API grows).</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Reads a spec into <typeparamref name="T"/>.</summary>
    /// <exception cref="FormatException">The spec does not have the shape of <typeparamref name="T"/>; the message
    /// names the JSON path.</exception>
    public static T Read<T>(JsonElement spec)
        where T : class, new()
    {
        if (spec.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return new T();
        }
        try
        {
            return spec.Deserialize<T>(Options) ?? new T();
        }
        catch (JsonException e)
        {
            throw new FormatException($"spec{e.Path?.TrimStart('$')}: {e.Message.Split(" Path:")[0]}", e);
        }
    }

    /// <summary>Parses a protobuf-JSON duration as Istio writes it: <c>"1.5s"</c>, <c>"100ms"</c>, <c>"2m"</c>, <c>"1h"</c>.</summary>
    /// <exception cref="FormatException">Not a duration.</exception>
    public static TimeSpan Duration(string text, string field)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("us", 0.000001), ("µs", 0.000001), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && value >= 0 && !double.IsInfinity(value))
            {
                return TimeSpan.FromTicks((long)Math.Round(value * seconds * TimeSpan.TicksPerSecond));
            }
        }
        throw new FormatException($"{field}: \"{text}\" is not a duration (such as \"1.5s\" or \"100ms\")");
    }
}
