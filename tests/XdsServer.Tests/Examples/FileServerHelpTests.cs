using System.Text.RegularExpressions;
using XdsServer.Tests.Files;

namespace XdsServer.Tests.Examples;

/// <summary>The real FileServer's <c>--help</c> lists every option its parser accepts (the parser names them when it
/// refuses an unknown one), each with a description and an example.</summary>
public sealed partial class FileServerHelpTests
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_option_the_parser_accepts_is_in_the_help_with_a_description_and_an_example()
    {
        string refusal;
        await using (var unknown = await FileServerProcess.StartAsync("--no-such-option"))
        {
            Assert.Equal(2, await unknown.WaitForExitAsync(ExitWait));
            refusal = unknown.Output;
        }

        var accepted = AcceptedList().Match(refusal);
        Assert.True(accepted.Success, refusal);
        var names = accepted.Groups["names"].Value.Split(", ");
        Assert.Contains("--urls", names);
        Assert.Contains("--allow-insecure-transport", names);

        string help;
        await using (var process = await FileServerProcess.StartAsync("--help"))
        {
            Assert.Equal(0, await process.WaitForExitAsync(ExitWait));
            help = process.Output;
        }

        Assert.StartsWith("usage: FileServer --urls", help, StringComparison.Ordinal);
        var lines = help.Split('\n');
        foreach (var name in names)
        {
            var at = Array.FindIndex(lines, l => l == $"  {name}" || l.StartsWith($"  {name} <", StringComparison.Ordinal));
            Assert.True(at >= 0 && at + 2 < lines.Length, $"{name} has no entry in --help:\n{help}");
            Assert.False(string.IsNullOrWhiteSpace(lines[at + 1]), $"{name} has no description");
            Assert.StartsWith($"      e.g. {name}", lines[at + 2], StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"unknown argument '--no-such-option' \(the options are (?<names>[^)]+)\)")]
    private static partial Regex AcceptedList();
}
