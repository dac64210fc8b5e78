using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MeshHost.Tests.Hosting;

/// <summary>The commands the repository's README.md documents, read from it (so the tests run what a reader
/// copies), and a runner that runs such a command with bash from the repository root, as a reader would.</summary>
internal static partial class Readme
{
    /// <summary>The prefix of the README's first command; what follows it is the MeshHost's command line.</summary>
    public const string MeshHostPrefix = "dotnet run --project examples/MeshHost -c Release -- ";

    /// <summary>The fenced code blocks of the repository's README.md, in order: the info string (<c>bash</c>) and
    /// the lines between the fences.</summary>
    public static IReadOnlyList<(string Info, string[] Lines)> Blocks(string relativePath = "README.md")
    {
        var blocks = new List<(string, string[])>();
        var lines = File.ReadAllLines(Path.Combine(MeshHostProcess.RepositoryRoot, relativePath));
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }
            var info = lines[i][3..].Trim();
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i]);
            }
            blocks.Add((info, [.. body]));
        }
        return blocks;
    }

    /// <summary>The README's opening block: the MeshHost command, then the test command.</summary>
    public static string[] OpeningCommands()
    {
        var (info, lines) = Blocks()[0];
        Assert.Equal("bash", info);
        return lines;
    }

    /// <summary>The README's first command, as written.</summary>
    public static string MeshHostCommand() => OpeningCommands()[0];

    /// <summary>The block that calls through the mesh: everything before its first <c>node</c> line (the
    /// <c>export GRPC_XDS_BOOTSTRAP=...</c> statement) and each <c>node</c> line.</summary>
    public static (string Setup, IReadOnlyList<string> Commands) ClientBlock()
    {
        var (info, lines) = Blocks().FirstOrDefault(b => b.Lines.Any(l => l.StartsWith("export GRPC_XDS_BOOTSTRAP=", StringComparison.Ordinal)));
        Assert.True(lines is not null, "README.md has no code block that sets GRPC_XDS_BOOTSTRAP");
        Assert.Equal("bash", info);
        var first = Array.FindIndex(lines, l => l.StartsWith("node ", StringComparison.Ordinal));
        Assert.True(first > 0, "the client block has no `node` command after its setup");
        Assert.All(lines[first..], l => Assert.StartsWith("node ", l, StringComparison.Ordinal));
        return (string.Join('\n', lines[..first]), lines[first..]);
    }

    /// <summary>The client command that has <paramref name="option"/> (<paramref name="having"/>) or has not.</summary>
    public static string ClientCommand(bool having, string option)
    {
        var commands = ClientBlock().Commands.Where(c => c.Contains(option, StringComparison.Ordinal) == having).ToList();
        Assert.True(commands.Count == 1, $"want one client command {(having ? "with" : "without")} {option}, found {commands.Count}");
        return commands[0];
    }

    /// <summary>The <c>--count</c> of a client command.</summary>
    public static int CallCount(string command)
    {
        var match = CountOption().Match(command);
        Assert.True(match.Success, $"no --count in `{command}`");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <paramref name="script"/> with <c>bash -o pipefail -c</c> from the repository root, its standard
    /// input kept open (the client stops when it closes) until it exits; bounded by <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string script, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = MeshHostProcess.RepositoryRoot,
        };
        foreach (var arg in new[] { "-o", "pipefail", "-c", script })
        {
            start.ArgumentList.Add(arg);
        }
        // The script sets its own bootstrap; a bootstrap inherited from the test's environment must not be used instead.
        start.Environment.Remove("GRPC_XDS_BOOTSTRAP");
        start.Environment.Remove("GRPC_XDS_BOOTSTRAP_CONFIG");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"`{script}` did not finish within {timeout.TotalSeconds:0} s. Output:\n{await stdout}\n{await stderr}");
        }
        finally
        {
            process.StandardInput.Close();
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A failure message: the script and what it printed.</summary>
    public static string Describe(string script, (int ExitCode, string Stdout, string Stderr) run) =>
        $"`{script}` exited with {run.ExitCode}.\nstdout:\n{run.Stdout}\nstderr:\n{run.Stderr}";

    [GeneratedRegex(@"--count (\d+)")]
    private static partial Regex CountOption();
}
