using System.Diagnostics;

namespace XdsServer.Testing;

/// <summary>Runs the real <c>openssl</c> tool with a bounded wait; a missing tool fails the test, never skips it.</summary>
public static class OpenSsl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static string Path { get; } = Find();

    public static async Task<string> RunAsync(string workDir, params string[] args)
    {
        var start = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Path}");
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            var output = await stdout;
            var errors = await stderr;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"openssl {string.Join(' ', args)} exited {process.ExitCode}:\n{output}\n{errors}");
            }

            return output + errors;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"openssl {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s");
        }
    }

    private static string Find()
    {
        const string Default = "/usr/bin/openssl";
        if (File.Exists(Default))
        {
            return Default;
        }
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, "openssl"))
            .FirstOrDefault(File.Exists);
        return onPath ?? throw new InvalidOperationException(
            "The openssl tool is required by the CA and TLS tests and was not found at /usr/bin/openssl or on PATH; install it (apt-get install openssl).");
    }
}
