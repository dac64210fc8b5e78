using System.Diagnostics;
using System.Text.RegularExpressions;

namespace XdsServer.Docs.Tests;

/// <summary>Documented commands that no other test runs. (The README's MeshHost command, client commands and Envoy
/// bootstrap are run by tests/MeshHost.Tests' ReadmeWalkthroughTests, its proxy-status command by ProxyStatusTests; the
/// FileServer and CA command lines by tests/XdsServer.Tests' FileServerRealClientTests and FileServerSecurityTests.)</summary>
public sealed partial class DocumentedCommandTests
{
    private const string QuickstartCommand = "dotnet run --project examples/Quickstart -c Release";

    /// <summary>Each kind of command the READMEs give (by its start), and the test that runs it.</summary>
    private static readonly (string Command, string Test)[] Covered =
    [
        ("dotnet run --project examples/MeshHost -c Release -- --urls http://127.0.0.1:15010 --http-urls http://127.0.0.1:15014",
            "The_readme_command_as_written_listens_on_ports_15010_and_15014_and_serves_a_sidecar"),
        ("./test.sh", "The_readme_opens_with_the_mesh_command_and_the_test_command_ci_runs"), // and CI runs it
        ("export GRPC_XDS_BOOTSTRAP=examples/bootstrap/grpc-xds.json",
            "The_readme_bootstrap_file_names_the_first_command_s_port_and_a_proxyless_client_in_bookinfo"),
        ("node tests/clients/node/client.js --target xds:///reviews.bookinfo.svc.cluster.local:9080 --count 10 --header end-user=jason",
            "The_readme_client_command_with_the_jason_header_reaches_only_reviews_v2"),
        ("node tests/clients/node/client.js --target xds:///reviews.bookinfo.svc.cluster.local:9080 --count 100 |",
            "The_readme_client_command_without_the_header_reaches_all_three_reviews_versions"),
        ("dotnet run --project examples/FileServer -c Release -- --urls http://127.0.0.1:18000 --resources examples/FileServer/sample",
            "Sample_folder_serves_xds_hello_to_a_real_client"),
        ("echo '{\"tok-hello-3b9e\": \"spiffe://cluster.local/ns/default/sa/hello\"}' > /tmp/ca-tokens.json",
            "Issues_certificates_for_token_holders_serves_their_secrets_and_the_bundle_and_keeps_the_root"),
        ("openssl req -x509 -newkey ec", "The_documented_tls_command_line_serves_secrets_to_a_token_holder_over_tls"),
        ("dotnet run --project examples/FileServer -c Release -- --urls https://127.0.0.1:18000",
            "The_documented_tls_command_line_serves_secrets_to_a_token_holder_over_tls"),
        ("dotnet run --project examples/MeshHost -c Release -- proxy-status --server http://127.0.0.1:15010",
            "The_table_shows_a_proxy_synced_after_an_ack_and_stale_after_a_nack"),
        ("dotnet add package ", nameof(Every_package_the_readme_installs_is_a_package_of_this_repository)),
        (QuickstartCommand, nameof(The_readme_s_quickstart_command_builds_validates_and_updates_a_snapshot)),
    ];

    [Fact]
    public void Every_command_of_the_readmes_is_run_by_a_named_test()
    {
        var files = Markdown.DocumentationFiles().Where(f => f == "README.md" || f.StartsWith("examples", StringComparison.Ordinal)).ToList();
        var commands = files.SelectMany(f => Markdown.Blocks(f).Where(b => b.Info is "bash" or "sh").SelectMany(b => Commands(b).Select(c => (Block: b, Command: c)))).ToList();
        Assert.True(commands.Count >= 15, $"only {commands.Count} commands found in {string.Join(", ", files)}");

        var testSources = string.Join('\n', Directory.EnumerateFiles(Path.Combine(Markdown.RepositoryRoot, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("node_modules", StringComparison.Ordinal))
            .Select(File.ReadAllText));
        foreach (var (block, command) in commands)
        {
            var entries = Covered.Where(c => command.StartsWith(c.Command, StringComparison.Ordinal)).ToList();
            Assert.True(entries.Count > 0, $"{block}: no test runs `{command}`; add one and list it in {nameof(Covered)}, or remove the command");
            foreach (var (_, test) in entries)
            {
                Assert.True(Regex.IsMatch(testSources, $@"\b(Task|void) {Regex.Escape(test)}\("), $"{block}: `{command}` is said to be run by {test}, which no test defines");
            }
        }
        Assert.All(Covered, c => Assert.True(commands.Any(x => x.Command.StartsWith(c.Command, StringComparison.Ordinal)), $"no README command starts with `{c.Command}` any more: remove it from {nameof(Covered)}"));
    }

    [Fact]
    public void Every_package_the_readme_installs_is_a_package_of_this_repository()
    {
        var packages = Markdown.Blocks("README.md").Where(b => b.Info == "bash").SelectMany(Commands)
            .Select(c => AddPackage().Match(c)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.True(packages.Count >= 5, $"the README installs {packages.Count} packages");
        foreach (var id in packages)
        {
            // Each src/<id>/<id>.csproj is packed as the package <id> (a package id of its own would be a
            // <PackageId> in the project, which none sets).
            var project = Path.Combine(Markdown.RepositoryRoot, "src", id, id + ".csproj");
            Assert.True(File.Exists(project), $"the README installs {id}, but src/{id}/{id}.csproj does not exist");
            Assert.DoesNotContain("<PackageId>", File.ReadAllText(project), StringComparison.Ordinal);
        }
        foreach (var dir in Directory.GetDirectories(Path.Combine(Markdown.RepositoryRoot, "src")))
        {
            Assert.Contains(Path.GetFileName(dir), packages);
        }
    }

    /// <summary>The commands of a shell block: continuation lines joined, trailing <c># comments</c> dropped.</summary>
    private static IEnumerable<string> Commands(CodeBlock block)
    {
        var pending = "";
        foreach (var raw in block.Code.Split('\n'))
        {
            var line = TrailingComment().Replace(raw, "").TrimEnd();
            if (line.EndsWith('\\'))
            {
                pending += line[..^1].TrimEnd() + " ";
                continue;
            }
            var command = (pending + line.Trim()).Trim();
            pending = "";
            if (command.Length > 0)
            {
                yield return command;
            }
        }
    }

    [GeneratedRegex(@"\s+#\s.*$")]
    private static partial Regex TrailingComment();

    [GeneratedRegex(@"^dotnet add package (\S+)$")]
    private static partial Regex AddPackage();

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
