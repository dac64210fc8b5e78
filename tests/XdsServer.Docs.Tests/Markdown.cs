namespace XdsServer.Docs.Tests;

/// <summary>One fenced code block of a Markdown file: where it is, its info string and its text.</summary>
/// <param name="File">The file, relative to the repository root.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Info">The info string after the fence (<c>csharp</c>, <c>bash</c>, ...).</param>
/// <param name="Code">The lines between the fences, the fence's indentation removed, joined with <c>\n</c>.</param>
public sealed record CodeBlock(string File, int Line, string Info, string Code)
{
    /// <summary>Where the block is, as <c>file:line</c>.</summary>
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>Reads the documentation of the repository: which Markdown files hold documentation, and their
/// fenced code blocks.</summary>
public static class Markdown
{
    /// <summary>The repository root (the folder holding Xds.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The documentation files whose C# blocks must compile: README.md, docs/*.md, src/*/README.md and
    /// examples/*/README.md, relative to the root, in a stable order.</summary>
    public static IReadOnlyList<string> DocumentationFiles()
    {
        var files = new List<string> { "README.md" };
        files.AddRange(Glob("docs", "*.md", SearchOption.TopDirectoryOnly));
        foreach (var parent in new[] { "src", "examples" })
        {
            foreach (var dir in Directory.GetDirectories(Path.Combine(RepositoryRoot, parent)))
            {
                var readme = Path.Combine(dir, "README.md");
                if (File.Exists(readme))
                {
                    files.Add(Path.GetRelativePath(RepositoryRoot, readme));
                }
            }
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>The fenced code blocks (<c>```</c> fences, possibly indented inside a list) of one file.</summary>
    /// <exception cref="InvalidDataException">A fence is never closed.</exception>
    public static IReadOnlyList<CodeBlock> Blocks(string relativePath)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, relativePath));
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart(' ');
            if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }
            var indent = lines[i].Length - trimmed.Length;
            var info = trimmed[3..].Trim();
            var open = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].TrimStart(' ').StartsWith("```", StringComparison.Ordinal); i++)
            {
                var line = lines[i];
                var strip = Math.Min(indent, line.Length - line.TrimStart(' ').Length);
                body.Add(line[strip..]);
            }
            if (i == lines.Length)
            {
                throw new InvalidDataException($"{relativePath}:{open + 1}: the code block opened here is never closed");
            }
            blocks.Add(new CodeBlock(relativePath, open + 1, info, string.Join('\n', body)));
        }
        return blocks;
    }

    /// <summary>Every C# block (info string <c>csharp</c>) of the documentation files.</summary>
    public static IReadOnlyList<CodeBlock> CSharpBlocks() =>
        [.. DocumentationFiles().SelectMany(Blocks).Where(b => IsCSharp(b.Info))];

    /// <summary>Whether an info string marks C#: <c>csharp</c>, and the aliases <c>cs</c> and <c>c#</c> too (so a
    /// block cannot escape compilation by its spelling).</summary>
    public static bool IsCSharp(string info)
    {
        var language = info.Split(' ', 2)[0];
        return language.Equals("csharp", StringComparison.OrdinalIgnoreCase)
            || language.Equals("cs", StringComparison.OrdinalIgnoreCase)
            || language.Equals("c#", StringComparison.OrdinalIgnoreCase);
    }

    private static IEnumerable<string> Glob(string folder, string pattern, SearchOption option)
    {
        var dir = Path.Combine(RepositoryRoot, folder);
        return Directory.Exists(dir)
            ? Directory.GetFiles(dir, pattern, option).Select(f => Path.GetRelativePath(RepositoryRoot, f))
            : [];
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xds.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Xds.sln not found above " + AppContext.BaseDirectory);
    }
}
