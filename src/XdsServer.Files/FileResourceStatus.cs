using System.Globalization;

namespace XdsServer.Files;

/// <summary>What a <see cref="FileResourceSource"/> serves and what is wrong with its folder. Immutable: a
/// new instance is published on every change (see <see cref="FileResourceSource.GetChangeToken"/>).</summary>
public sealed record FileResourceStatus
{
    /// <summary>The folder, as a full path.</summary>
    public required string Directory { get; init; }

    /// <summary>The node group the folder is published under.</summary>
    public required string Group { get; init; }

    /// <summary>True once a snapshot of the folder has been published (it then stays served, even while
    /// the folder has errors).</summary>
    public bool IsLoaded => LastLoadedAt is not null;

    /// <summary>When the served snapshot was published, or null before the first good load.</summary>
    public DateTimeOffset? LastLoadedAt { get; init; }

    /// <summary>When the folder was last read because something in it changed, or null before the first read.</summary>
    public DateTimeOffset? LastReadAt { get; init; }

    /// <summary>Number of resources in the served snapshot.</summary>
    public int ResourceCount { get; init; }

    /// <summary>Number of resource files the served snapshot was built from.</summary>
    public int FileCount { get; init; }

    /// <summary>The problems of the folder's current content, one per file and problem (empty when the
    /// served snapshot is the folder's current content). While there are errors the last good snapshot
    /// stays served.</summary>
    public IReadOnlyList<FileResourceError> Errors { get; init; } = [];

    /// <inheritdoc />
    public override string ToString() =>
        (IsLoaded ? $"{ResourceCount} resource(s) from {FileCount} file(s) loaded at {LastLoadedAt:O}" : "not loaded")
        + (Errors.Count == 0 ? string.Empty : $"; {Errors.Count} error(s): " + string.Join("; ", Errors));
}

/// <summary>One problem of a resource folder.</summary>
/// <param name="File">The file at fault, relative to the folder (forward slashes); empty for the folder itself.</param>
/// <param name="Reason">What is wrong.</param>
public sealed record FileResourceError(string File, string Reason)
{
    /// <summary>The line of <see cref="File"/> at fault, from 1: where the YAML or JSON stops being valid, or the
    /// field (else the resource) that does not map to its message. Null when no place in the file is at fault
    /// (the file cannot be read, or the folder itself).</summary>
    public int? Line { get; init; }

    /// <summary>The column of <see cref="Line"/> at fault, from 1, in characters; null when <see cref="Line"/> is.</summary>
    public int? Column { get; init; }

    /// <summary>The problem as <c>file:line:column: reason</c> (<c>file: reason</c> without a position, the reason
    /// alone for the folder itself).</summary>
    public override string ToString() =>
        File.Length == 0 ? Reason
        : Line is { } line ? string.Create(CultureInfo.InvariantCulture, $"{File}:{line}:{Column ?? 1}: {Reason}")
        : $"{File}: {Reason}";
}
