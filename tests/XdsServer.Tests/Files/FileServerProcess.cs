using System.Diagnostics;

namespace XdsServer.Tests.Files;

/// <summary>The real examples/FileServer, started as a process with its documented command line; killed on dispose.</summary>
internal sealed class FileServerProcess : ExampleProcess
{
    private FileServerProcess(Process process)
        : base(process, "FileServer")
    {
    }

    /// <summary>Starts <c>dotnet FileServer.dll args…</c>, building the example first when its build is missing
    /// or older than the server library this test was built with.</summary>
    public static async Task<FileServerProcess> StartAsync(params string[] args) =>
        new(await LaunchAsync("FileServer", Path.Combine(AppContext.BaseDirectory, "XdsServer.dll"), TimeSpan.FromMinutes(3), args));
}
