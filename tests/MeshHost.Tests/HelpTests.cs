namespace MeshHost.Tests;

/// <summary><c>--help</c> lists every option the parser accepts, each with a description and an example, and the
/// proxy-status subcommand.</summary>
public sealed class HelpTests
{
    public static TheoryData<string> Accepted()
    {
        var data = new TheoryData<string>();
        foreach (var option in CommandLine.Options)
        {
            data.Add(option.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Every_option_the_parser_accepts_is_in_the_help_with_a_description_and_an_example(string name)
    {
        var option = CommandLine.Options.Single(o => o.Name == name);
        // The parser takes it (a value option with some value; errors about the value are not "unknown").
        string[] args = option.TakesValue ? ["--urls", "http://127.0.0.1:15010", name + "=x"] : ["--urls", "http://127.0.0.1:15010", name];
        var parsed = CommandLine.TryParse(args, out _, out var error);
        Assert.True(parsed || !error.StartsWith("unknown argument", StringComparison.Ordinal), error);

        var lines = CommandLine.Usage.Split('\n');
        var at = Array.FindIndex(lines, l => l == $"  {name}" + (option.Value is null ? string.Empty : " " + option.Value));
        Assert.True(at >= 0, $"{name} has no entry in --help:\n{CommandLine.Usage}");
        Assert.False(string.IsNullOrWhiteSpace(lines[at + 1]), $"{name} has no description");
        Assert.StartsWith($"      e.g. {name}", lines[at + 2], StringComparison.Ordinal);
    }

    [Fact]
    public void An_option_outside_the_table_is_refused_naming_the_options()
    {
        Assert.False(CommandLine.TryParse(["--urls", "http://127.0.0.1:15010", "--verbose"], out _, out var error));
        Assert.StartsWith("unknown argument '--verbose' (the options are --urls, --http-urls,", error, StringComparison.Ordinal);
        foreach (var option in CommandLine.Options)
        {
            Assert.Contains(option.Name, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_help_lists_the_proxy_status_subcommand_with_an_example()
    {
        Assert.Contains("  proxy-status --server <url>\n", CommandLine.Usage, StringComparison.Ordinal);
        Assert.Contains("e.g. MeshHost proxy-status --server http://127.0.0.1:15010", CommandLine.Usage, StringComparison.Ordinal);
    }
}
