using System.Globalization;
using System.Text;

namespace XdsServer.Kubernetes;

/// <summary>One bad document (or file, or the folder itself) found by a <see cref="ManifestDiscoverySource"/>: where it
/// is, which object it is when that is known, and what is wrong.</summary>
public sealed record ManifestProblem
{
    /// <summary>The file, relative to the folder with '/' separators; empty for a problem of the folder itself.</summary>
    public required string File { get; init; }

    /// <summary>The line (1-based) the problem is at, when the parser gives one.</summary>
    public int? Line { get; init; }

    /// <summary>The column (1-based) the problem is at, when the parser gives one.</summary>
    public int? Column { get; init; }

    /// <summary>The object's kind as written (<c>Service</c>, <c>VirtualService</c>), when known.</summary>
    public string? Kind { get; init; }

    /// <summary>The object's namespace, when known (<c>default</c> for a namespaced object that names none).</summary>
    public string? Namespace { get; init; }

    /// <summary>The object's name, when known.</summary>
    public string? Name { get; init; }

    /// <summary>What is wrong.</summary>
    public required string Reason { get; init; }

    /// <summary><c>file:line:column: Kind namespace/name: reason</c>, leaving out what is not known.</summary>
    /// <returns>The problem as one line of text.</returns>
    public override string ToString()
    {
        var text = new StringBuilder(File.Length == 0 ? "." : File);
        if (Line is { } line)
        {
            text.Append(CultureInfo.InvariantCulture, $":{line}");
            if (Column is { } column)
            {
                text.Append(CultureInfo.InvariantCulture, $":{column}");
            }
        }

        text.Append(": ");
        if (Kind is not null || Name is not null)
        {
            text.Append(Kind ?? "object").Append(' ');
            if (!string.IsNullOrEmpty(Namespace))
            {
                text.Append(Namespace).Append('/');
            }

            text.Append(Name ?? "(no name)").Append(": ");
        }

        return text.Append(Reason).ToString();
    }
}
