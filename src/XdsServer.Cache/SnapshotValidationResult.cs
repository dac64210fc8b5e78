namespace XdsServer.Cache;

/// <summary>One problem found in a snapshot.</summary>
/// <param name="TypeUrl">Type URL of the resource at fault.</param>
/// <param name="ResourceName">Name of the resource at fault.</param>
/// <param name="Message">What is wrong, naming the missing or unreadable resource.</param>
public sealed record SnapshotProblem(string TypeUrl, string ResourceName, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Message;
}

/// <summary>The outcome of <see cref="Snapshot.Validate"/>: every problem found, none when valid.</summary>
/// <param name="Problems">The problems, sorted by type and resource name.</param>
public sealed record SnapshotValidationResult(IReadOnlyList<SnapshotProblem> Problems)
{
    /// <summary>True when no problem was found.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <inheritdoc />
    public override string ToString() => IsValid
        ? "valid"
        : $"{Problems.Count} problem(s): " + string.Join("; ", Problems.Select(p => p.Message));
}

/// <summary>Thrown when a cache that refuses invalid snapshots is given one. The cache keeps what it had.</summary>
public sealed class InvalidSnapshotException : Exception
{
    /// <summary>Creates the exception for a snapshot meant for <paramref name="group"/>.</summary>
    public InvalidSnapshotException(string group, SnapshotValidationResult result)
        : base($"Snapshot for '{group}' refused, {result}")
    {
        Group = group;
        Result = result;
    }

    /// <summary>The node group the snapshot was meant for.</summary>
    public string Group { get; }

    /// <summary>The problems found.</summary>
    public SnapshotValidationResult Result { get; }
}
