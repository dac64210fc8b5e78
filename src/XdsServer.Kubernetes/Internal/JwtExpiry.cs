using System.Buffers.Text;
using System.Text.Json;

namespace XdsServer.Kubernetes.Internal;

/// <summary>Reads the <c>exp</c> claim of a JWT without verifying it: used only after the Kubernetes API server has
/// authenticated the token, to keep a cached review and the proven identity from outliving the token.</summary>
internal static class JwtExpiry
{
    private const int MaxPayloadChars = 16 * 1024;

    /// <summary>The token's expiry, or null when it is not a JWT or names none.</summary>
    public static DateTimeOffset? Read(string token)
    {
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (second < 0 || second - first - 1 > MaxPayloadChars)
        {
            return null;
        }
        try
        {
            var payload = Base64Url.DecodeFromChars(token.AsSpan(first + 1, second - first - 1));
            using var document = JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("exp", out var exp)
                && exp.ValueKind == JsonValueKind.Number
                && exp.TryGetInt64(out var seconds)
                && seconds is > 0 and < 253402300799)
            {
                return DateTimeOffset.FromUnixTimeSeconds(seconds);
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
        }
        return null;
    }
}
