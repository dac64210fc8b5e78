using Microsoft.CodeAnalysis;

namespace XdsServer.Docs.Tests;

/// <summary>Every C# block of README.md, docs/*.md, src/*/README.md and examples/*/README.md compiles as its own
/// program (see <see cref="SnippetCompiler"/>): what a reader copies into a new <c>dotnet new web</c> app builds.</summary>
public sealed class SnippetTests
{
    /// <summary>The C# blocks, by <c>file:line</c> (the theory's data; the block is looked up again by it).</summary>
    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (var block in Markdown.CSharpBlocks())
        {
            data.Add(block.ToString());
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void The_snippet_compiles_as_written(string where)
    {
        var block = Markdown.CSharpBlocks().Single(b => b.ToString() == where);
        Assert.True(block.Info == "csharp", $"{where}: write the info string as `csharp`, not `{block.Info}`");
        var diagnostics = SnippetCompiler.Compile(block.Code, "Snippet");
        Assert.True(diagnostics.Count == 0, $"{where}: the snippet does not compile cleanly:\n" + string.Join('\n', diagnostics.Select(d => Describe(block, d))));
    }

    [Fact]
    public void The_extractor_finds_the_csharp_blocks_of_every_documentation_file()
    {
        var blocks = Markdown.CSharpBlocks();
        // A broken extractor (or a fence spelled differently) would find fewer and pass vacuously.
        Assert.True(blocks.Count >= 15, $"only {blocks.Count} C# blocks found in {string.Join(", ", Markdown.DocumentationFiles())}");
        foreach (var file in new[]
        {
            "README.md", "docs/architecture.md", "src/XdsServer/README.md", "src/XdsServer.Cache/README.md",
            "src/XdsServer.Ca/README.md", "src/XdsServer.Kubernetes/README.md", "src/XdsServer.Api/README.md",
        })
        {
            Assert.Contains(file, Markdown.DocumentationFiles());
            Assert.True(blocks.Any(b => b.File == file), $"{file} has no ```csharp block");
        }
    }

    [Fact]
    public void A_snippet_with_an_error_is_reported_with_its_line_and_the_compiler_message()
    {
        // The compiler is not a stub: a known-bad snippet fails, a known-good one passes.
        Assert.Empty(SnippetCompiler.Compile("var builder = WebApplication.CreateBuilder(args);\nbuilder.Build().Run();", "Good"));
        var bad = SnippetCompiler.Compile("var x = new NoSuchType();", "Bad");
        var error = Assert.Single(bad);
        Assert.Equal("CS0246", error.Id);
        Assert.Equal(0, error.Location.GetLineSpan().StartLinePosition.Line);
    }

    private static string Describe(CodeBlock block, Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        var line = span.Path.StartsWith("Snippet", StringComparison.Ordinal)
            ? $"{block.File}:{block.Line + 1 + span.StartLinePosition.Line}:{span.StartLinePosition.Character + 1}"
            : span.Path;
        return $"  {line}: {d.Severity} {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
