using System.Globalization;
using System.Net;
using System.Text;

namespace XdsServer;

/// <summary>
/// Writes one section of the status page. Every text is HTML-encoded here: a section cannot emit markup of its own,
/// so a node id or an object name holding <c>&lt;script&gt;</c> shows as text. Tables are plain HTML (the page's tables
/// work with JavaScript off) and are cut at <see cref="MaxTableRows"/> rows with a note saying so.
/// </summary>
public sealed class XdsStatusSectionWriter
{
    private readonly StringBuilder _html;

    internal XdsStatusSectionWriter(StringBuilder html, int maxTableRows)
    {
        _html = html;
        MaxTableRows = maxTableRows;
    }

    /// <summary>The most rows a table shows; the rest is summed up in a note.</summary>
    public int MaxTableRows { get; }

    /// <summary>Writes a paragraph of text.</summary>
    /// <param name="text">The text (encoded here).</param>
    public void Paragraph(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _html.Append("<p>").Append(Encode(text)).Append("</p>");
    }

    /// <summary>Writes a paragraph marked as a warning (shown in the page's warning colour).</summary>
    /// <param name="text">The text (encoded here).</param>
    public void Warning(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _html.Append("<p class=\"warn\">").Append(Encode(text)).Append("</p>");
    }

    /// <summary>Writes name/value pairs as a two-column table.</summary>
    /// <param name="facts">The pairs, in the order to show.</param>
    public void Facts(IEnumerable<KeyValuePair<string, string>> facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        _html.Append("<table class=\"facts\">");
        foreach (var (name, value) in facts)
        {
            _html.Append("<tr><th>").Append(Encode(name)).Append("</th><td>").Append(Encode(value)).Append("</td></tr>");
        }

        _html.Append("</table>");
    }

    /// <summary>Writes a table with a header row; rows beyond <see cref="MaxTableRows"/> are counted, not shown, and a
    /// table without rows says "none".</summary>
    /// <param name="columns">The column headings.</param>
    /// <param name="rows">The rows; each as many cells as there are columns (missing cells are left empty).</param>
    public void Table(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        _html.Append("<table><thead><tr>");
        foreach (var column in columns)
        {
            _html.Append("<th>").Append(Encode(column)).Append("</th>");
        }

        _html.Append("</tr></thead><tbody>");
        var count = 0;
        foreach (var row in rows)
        {
            if (++count > MaxTableRows)
            {
                continue;
            }

            _html.Append("<tr>");
            for (var i = 0; i < columns.Count; i++)
            {
                _html.Append("<td>").Append(i < row.Count ? Encode(row[i]) : string.Empty).Append("</td>");
            }

            _html.Append("</tr>");
        }

        if (count == 0)
        {
            _html.Append("<tr><td class=\"note\" colspan=\"").Append(Math.Max(1, columns.Count).ToString(CultureInfo.InvariantCulture))
                .Append("\">none</td></tr>");
        }

        _html.Append("</tbody></table>");
        if (count > MaxTableRows)
        {
            _html.Append("<p class=\"note\">").Append((count - MaxTableRows).ToString(CultureInfo.InvariantCulture))
                .Append(" more rows not shown.</p>");
        }
    }

    /// <summary>Writes a link to a path of this host (a JSON endpoint, say).</summary>
    /// <param name="text">The link's text (encoded here).</param>
    /// <param name="path">A path on this host: starts with one <c>/</c> (no scheme, no other host).</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is not a local path.</exception>
    public void Link(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        if (!IsLocalPath(path))
        {
            throw new ArgumentException($"'{path}' is not a path on this host (it must start with a single '/')", nameof(path));
        }

        _html.Append("<p><a href=\"").Append(Encode(path)).Append("\">").Append(Encode(text)).Append("</a></p>");
    }

    internal static bool IsLocalPath(string path) =>
        path.StartsWith('/') && !path.StartsWith("//", StringComparison.Ordinal) && !path.StartsWith("/\\", StringComparison.Ordinal)
        && !path.Any(char.IsControl);

    internal static string Encode(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);
}
