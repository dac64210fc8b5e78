using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// Combines the parsed files of a folder into the objects to serve, remembering what each file provided:
/// <list type="bullet">
/// <item>An object defined in two places (two files, or twice in one) is served from the file that served it
/// before, else from the first in path order; every other definition is a problem.</item>
/// <item>While a file has any problem, every object it served before and no good document defines now is served
/// as it was (the last good version): a broken edit does not take objects away. Once the file is good again (or
/// deleted), what it defines is what is served.</item>
/// </list>
/// Not thread-safe: one reload at a time.
/// </summary>
internal sealed class ManifestFolder
{
    private Dictionary<string, Dictionary<ObjectKey, ManifestEntry>> _served = new(StringComparer.Ordinal);

    /// <summary>Combines <paramref name="files"/> (in path order) with what was served before.</summary>
    public (IReadOnlyList<ManifestEntry> Entries, IReadOnlyList<ManifestProblem> Problems, int Kept) Merge(
        IReadOnlyList<(string Path, ManifestFile File)> files)
    {
        var before = _served.SelectMany(f => f.Value.Keys.Select(id => (id, f.Key))).ToDictionary(x => x.id, x => x.Key);
        var problems = files.SelectMany(f => f.File.Problems).ToList();
        var bad = new HashSet<string>(files.Where(f => f.File.Problems.Count > 0).Select(f => f.Path), StringComparer.Ordinal);
        var winners = new Dictionary<ObjectKey, ManifestEntry>();
        foreach (var definitions in files.SelectMany(f => f.File.Entries).GroupBy(e => e.Id))
        {
            var winner = definitions.FirstOrDefault(e => before.TryGetValue(e.Id, out var path) && path == e.File) ?? definitions.First();
            winners[definitions.Key] = winner;
            foreach (var other in definitions.Where(e => !ReferenceEquals(e, winner)))
            {
                bad.Add(other.File);
                problems.Add(new ManifestProblem
                {
                    File = other.File,
                    Line = other.Line,
                    Column = other.Column,
                    Kind = other.Object.Kind,
                    Namespace = other.Id.Namespace.Length == 0 ? null : other.Id.Namespace,
                    Name = other.Id.Name,
                    Reason = $"defined again: the definition at {winner.File}:{winner.Line} is served",
                });
            }
        }

        var served = new Dictionary<string, Dictionary<ObjectKey, ManifestEntry>>(StringComparer.Ordinal);
        foreach (var (id, entry) in winners)
        {
            Add(served, entry.File, id, entry);
        }

        var kept = 0;
        foreach (var path in bad.Order(StringComparer.Ordinal))
        {
            foreach (var (id, entry) in _served.GetValueOrDefault(path) ?? [])
            {
                if (winners.TryAdd(id, entry))
                {
                    Add(served, path, id, entry);
                    kept++;
                }
            }
        }

        _served = served;
        var entries = winners.Values.OrderBy(e => e.File, StringComparer.Ordinal).ThenBy(e => e.Line).ThenBy(e => e.Column).ToList();
        problems = [.. problems.OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Line).ThenBy(p => p.Column)];
        return (entries, problems, kept);
    }

    private static void Add(Dictionary<string, Dictionary<ObjectKey, ManifestEntry>> served, string path, ObjectKey id, ManifestEntry entry)
    {
        if (!served.TryGetValue(path, out var entries))
        {
            served[path] = entries = [];
        }

        entries[id] = entry;
    }
}
