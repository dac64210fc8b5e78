namespace XdsServer.Cache;

/// <summary>How one <see cref="ResourceSet"/> differs from an earlier one, by resource name.</summary>
/// <param name="Added">Names present only in the newer set.</param>
/// <param name="Updated">Names present in both with different versions.</param>
/// <param name="Removed">Names present only in the earlier set.</param>
public sealed record ResourceSetDiff(IReadOnlyList<string> Added, IReadOnlyList<string> Updated, IReadOnlyList<string> Removed)
{
    /// <summary>True when nothing differs.</summary>
    public bool IsEmpty => Added.Count == 0 && Updated.Count == 0 && Removed.Count == 0;
}
