using System.Globalization;
using System.Text;

namespace XdsServer;

/// <summary>
/// Makes text a client chose (node ids, type URLs, resource names, SANs, NACK messages) safe to put in a log line
/// or an operator page: control and format characters (line breaks, escape sequences, bidirectional overrides)
/// and lone surrogates become <c>\uXXXX</c>, and long text is clipped, so a client can neither forge log lines nor
/// flood the log.
/// </summary>
public static class ClientText
{
    /// <summary>The longest text <see cref="ForLog(string?)"/> keeps before clipping, in characters.</summary>
    public const int MaxLogLength = 256;

    /// <summary>Escapes and clips <paramref name="text"/> for a log line; null becomes an empty string.</summary>
    /// <param name="text">Client-supplied text.</param>
    /// <returns>The text with every control, format or lone surrogate character escaped, clipped to
    /// <see cref="MaxLogLength"/> characters with the original length noted.</returns>
    public static string ForLog(string? text) => ForLog(text, MaxLogLength);

    /// <summary>Escapes and clips <paramref name="text"/> to <paramref name="maxLength"/> characters.</summary>
    /// <param name="text">Client-supplied text.</param>
    /// <param name="maxLength">How many characters to keep before clipping; at least 1.</param>
    /// <returns>The escaped, clipped text.</returns>
    public static string ForLog(string? text, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (text.Length <= maxLength && !NeedsEscape(text))
        {
            return text;
        }

        var kept = Math.Min(text.Length, maxLength);
        var builder = new StringBuilder(kept + 16);
        for (var i = 0; i < kept; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                if (i + 1 < kept)
                {
                    builder.Append(c).Append(text[++i]);
                }

                continue;
            }

            if (IsUnsafe(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        if (text.Length > maxLength)
        {
            builder.Append("…(").Append(text.Length.ToString(CultureInfo.InvariantCulture)).Append(" chars)");
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    // Cc (controls, line breaks, ESC), Cf (format: bidirectional overrides, zero-width characters), Zl and Zp
    // (U+2028, U+2029: line breaks to some viewers) and a surrogate not part of a pair.
    private static bool IsUnsafe(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate;
}
