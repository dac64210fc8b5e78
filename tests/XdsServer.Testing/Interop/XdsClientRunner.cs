using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;

namespace XdsServer.Testing.Interop;

/// <summary>The real xDS clients of the interop suite, each a small program under <c>tests/clients/</c>:
/// @grpc/grpc-js-xds (node), Debian's python3-grpcio (C-core 1.51) and Grpc.Core 2.46.5 (C-core 1.46).
/// Each reads its bootstrap from <c>GRPC_XDS_BOOTSTRAP_CONFIG</c>; C-core reads it once per process, so
/// every run is a process of its own.</summary>
public sealed class XdsClientRunner : IXdsClientRunner
{
    /// <summary>C-core reads an xDS response only when some thread polls the xDS channel's socket: a client
    /// whose calls fail fast (a rejected listener) polls rarely, and the channel's backup poller (5 s by
    /// default) then delays each response by up to 5 s. Python's grpcio has no thread polling of its own.</summary>
    private static readonly Dictionary<string, string> CCoreEnvironment = new()
    {
        ["GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"] = "100",
    };

    private readonly Func<XdsClientRunner, (string FileName, string[] Arguments)> _command;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private XdsClientRunner(string name, Func<XdsClientRunner, (string, string[])> command,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        Name = name;
        _command = command;
        _environment = environment ?? new Dictionary<string, string>();
    }

    /// <summary>@grpc/grpc-js with @grpc/grpc-js-xds 1.14.1 (<c>tests/clients/node</c>, installed by <c>npm ci</c>).</summary>
    public static XdsClientRunner GrpcJs { get; } = new("grpc-js", r =>
    {
        var folder = Path.Combine(ClientsFolder, "node");
        Require(File.Exists(Path.Combine(folder, "node_modules", "@grpc", "grpc-js-xds", "package.json")),
            $"{folder}/node_modules is missing: run ./test.sh (it runs `npm ci` in tests/clients/node)");
        return ("node", [Path.Combine(folder, "client.js")]);
    });

    /// <summary>Debian's python3-grpcio (gRPC C-core 1.51), run with /usr/bin/python3.</summary>
    public static XdsClientRunner PythonGrpcio { get; } = new("python-grpcio", r =>
    {
        Require(File.Exists("/usr/bin/python3") && Directory.Exists("/usr/lib/python3/dist-packages/grpc"),
            "python3-grpcio is not installed: run ./test.sh (it runs `apt-get install -y python3-grpcio`)");
        return ("/usr/bin/python3", [Path.Combine(ClientsFolder, "python", "client.py")]);
    }, CCoreEnvironment);

    /// <summary>Grpc.Core 2.46.5 (native gRPC C-core 1.46), <c>tests/clients/GrpcCoreClient</c>.</summary>
    public static XdsClientRunner GrpcCore { get; } = new("grpc-core", r =>
    {
        var configuration = typeof(XdsClientRunner).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Configuration")?.Value ?? "Release";
        var dll = Path.Combine(ClientsFolder, "GrpcCoreClient", "bin", configuration, "net10.0", "GrpcCoreClient.dll");
        Require(File.Exists(dll), $"{dll} is missing: build it (`dotnet build Xds.sln -c {configuration}`)");
        return (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", [dll]);
    }, CCoreEnvironment);

    /// <summary>Every real client, by name.</summary>
    public static IReadOnlyList<XdsClientRunner> All { get; } = [GrpcJs, PythonGrpcio, GrpcCore];

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The runner called <paramref name="name"/>.</summary>
    public static XdsClientRunner Get(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"no real xDS client called '{name}'", nameof(name));

    /// <inheritdoc />
    public XdsClientSession Start(XdsClientRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (fileName, prefix) = _command(this);
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ClientsFolder,
        };
        foreach (var argument in prefix.Concat(run.Arguments()))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("GRPC_XDS_BOOTSTRAP"); // a file would win over the config in the environment
        start.Environment.Remove("PYTHONPATH");
        start.Environment.Remove("PYTHONHOME");
        start.Environment["GRPC_XDS_BOOTSTRAP_CONFIG"] = run.Bootstrap.ToJson();
        foreach (var (name, value) in _environment.Concat(run.Environment))
        {
            start.Environment[name] = value;
        }

        try
        {
            return new XdsClientSession(Name, Process.Start(start)
                ?? throw new InvalidOperationException($"{Name}: {fileName} did not start"), run);
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{Name}: cannot start {fileName}: {e.Message}. Run ./test.sh to install the real xDS clients.", e);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CallOutcome>> RunAsync(XdsClientRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        await using var session = Start(run);
        var outcomes = await session.WaitForExitAsync(run.Timeout);
        if (session.ExitCode != 0 || (run.Calls > 0 && outcomes.Count != run.Calls))
        {
            throw new InvalidOperationException(session.Describe($"made {outcomes.Count} of {run.Calls} calls and exited with {session.ExitCode}"));
        }

        return outcomes;
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    private static string ClientsFolder => FindClientsFolder();

    private static string FindClientsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xds.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "clients");
            }
        }

        throw new InvalidOperationException($"cannot find the repository (Xds.sln) above {AppContext.BaseDirectory}");
    }
}
