using System.Text.RegularExpressions;

namespace XdsServer.Docs.Tests;

/// <summary>Code comments cite the invariants of docs/architecture.md by number; every number cited exists there,
/// and nothing cites a document the repository does not contain.</summary>
public sealed partial class InvariantCitationTests
{
    [Fact]
    public void Every_cited_invariant_is_numbered_in_docs_architecture_md()
    {
        var architecture = File.ReadAllLines(Path.Combine(Markdown.RepositoryRoot, "docs", "architecture.md"));
        var start = Array.IndexOf(architecture, "## Invariants");
        Assert.True(start >= 0, "docs/architecture.md has no '## Invariants' section");
        var numbered = architecture.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal))
            .Select(l => NumberedItem().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, numbered.Count), numbered);

        var cited = new List<(string File, int Number)>();
        foreach (var file in SourceFiles())
        {
            var text = File.ReadAllText(file);
            var relative = Path.GetRelativePath(Markdown.RepositoryRoot, file);
            Assert.False(text.Contains("DESIGN invariant", StringComparison.Ordinal), $"{relative} cites a document the repository does not contain; cite docs/architecture.md");
            foreach (Match m in Citation().Matches(text))
            {
                foreach (Capture n in m.Groups["n"].Captures)
                {
                    cited.Add((relative, int.Parse(n.Value, System.Globalization.CultureInfo.InvariantCulture)));
                }
            }
        }

        Assert.True(cited.Count >= 5, $"only {cited.Count} citations found: is the pattern still right?");
        Assert.All(cited, c => Assert.True(numbered.Contains(c.Number), $"{c.File} cites invariant {c.Number}, which docs/architecture.md does not number"));
    }

    private static IEnumerable<string> SourceFiles() =>
        new[] { "src", "tests", "benchmarks", "examples" }.SelectMany(d => CSharpFiles(Path.Combine(Markdown.RepositoryRoot, d)))
            .Where(f => !f.EndsWith("InvariantCitationTests.cs", StringComparison.Ordinal));

    /// <summary>The .cs files under <paramref name="dir"/>, not descending into build output or installed packages.</summary>
    private static IEnumerable<string> CSharpFiles(string dir)
    {
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs"))
        {
            yield return file;
        }
        foreach (var sub in Directory.EnumerateDirectories(dir))
        {
            if (Path.GetFileName(sub) is not ("bin" or "obj" or "node_modules" or ".git"))
            {
                foreach (var file in CSharpFiles(sub))
                {
                    yield return file;
                }
            }
        }
    }

    [GeneratedRegex(@"^(\d+)\. \*\*")]
    private static partial Regex NumberedItem();

    [GeneratedRegex(@"docs/architecture\.md, invariants? (?<n>\d+)(?: and (?<n>\d+))?")]
    private static partial Regex Citation();
}
