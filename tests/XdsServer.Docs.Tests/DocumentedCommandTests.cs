using System.Diagnostics;

namespace XdsServer.Docs.Tests;

/// <summary>Documented commands that no other test runs. (The README's MeshHost command, client commands and Envoy
/// bootstrap are run by tests/MeshHost.Tests' ReadmeWalkthroughTests; the FileServer and CA command lines by
/// tests/XdsServer.Tests' FileServerRealClientTests and FileServerSecurityTests.)</summary>
public sealed class DocumentedCommandTests
{
    private const string QuickstartCommand = "dotnet run --project examples/Quickstart -c Release";

    [Fact]
    public async Task The_readme_s_quickstart_command_builds_validates_and_updates_a_snapshot()
    {
        Assert.Contains($"`{QuickstartCommand}`", File.ReadAllText(Path.Combine(Markdown.RepositoryRoot, "README.md")), StringComparison.Ordinal);

        // The build that command runs: the project is built with this test (same configuration), run as `dotnet
        // Quickstart.dll` from the repository root so that no second build competes for the machine.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var dll = Path.Combine(Markdown.RepositoryRoot, "examples", "Quickstart", "bin", configuration, "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project builds examples/Quickstart");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Markdown.RepositoryRoot,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the Quickstart did not exit within 60 s. Output:\n{await stdout}\n{await stderr}");
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"the Quickstart exited with {process.ExitCode}:\n{output}");
        Assert.Contains("Validation: ", output, StringComparison.Ordinal);
        Assert.Contains("Listener set reused: True", output, StringComparison.Ordinal);
        Assert.Contains("Refused: ", output, StringComparison.Ordinal);
    }
}
