using System.Text;

namespace XdsServer.Packaging.Tests;

/// <summary>
/// Once per test run: packs every library under src/ with a unique prerelease version into a temporary folder feed,
/// then creates a brand-new ASP.NET Core app outside the repository (<c>dotnet new web</c>) that adds that feed to
/// the machine's package sources (nothing cleared, no URL named), references <c>XdsServer</c> by version
/// (<c>dotnet add package</c>), embeds the server and builds.
/// </summary>
/// <remarks>
/// Nothing is shared with other builds or test runs: the libraries build into the temporary folder (MSBuild's
/// artifacts layout), and the unique version means the NuGet global packages folder can never serve an older pack
/// under the same number; the fixture removes that version from it, and the temporary folder, at the end.
/// </remarks>
public sealed class PackagedConsumer : IAsyncLifetime
{
    /// <summary>The node id the app's snapshot is set for.</summary>
    public const string NodeId = "packaged-node";

    /// <summary>The cluster the app serves.</summary>
    public const string ClusterName = "packaged-backend";

    // Generous: the machine may be busy with other builds; the usual total is one to three minutes.
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The temporary folder holding the feed, the build output and the app.</summary>
    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), "xds-packaging-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The version every package was packed with.</summary>
    public string Version { get; } =
        $"0.1.0-packtest.{DateTime.UtcNow:yyyyMMddHHmmss}.g{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>The folder feed.</summary>
    public string Feed => Path.Combine(WorkDirectory, "feed");

    /// <summary>The consumer app's project folder.</summary>
    public string AppDirectory => Path.Combine(WorkDirectory, "PackagedHost");

    /// <summary>The package ids packed (one per project under src/).</summary>
    public IReadOnlyList<string> PackageIds { get; private set; } = [];

    /// <summary>What <c>dotnet pack</c> printed.</summary>
    public string PackOutput { get; private set; } = string.Empty;

    /// <summary>What the steps creating the app printed, for failure messages.</summary>
    public StringBuilder Log { get; } = new();

    public async Task InitializeAsync()
    {
        var root = ExampleProcess.RepositoryRoot;
        if (WorkDirectory.StartsWith(root, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the temporary folder {WorkDirectory} is inside the repository {root}");
        }

        Directory.CreateDirectory(WorkDirectory);
        // MSBuild looks for these files in every parent folder: empty ones here keep whatever a parent of the
        // temporary folder may hold out of both the pack and the app.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            await File.WriteAllTextAsync(Path.Combine(WorkDirectory, name), "<Project />\n");
        }

        await PackAsync(root);
        await CreateAppAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            var folder = await GlobalPackagesFolderAsync();
            foreach (var id in PackageIds)
            {
                var packed = Path.Combine(folder, id.ToLowerInvariant(), Version.ToLowerInvariant());
                if (Directory.Exists(packed))
                {
                    Directory.Delete(packed, recursive: true);
                }

                var idFolder = Path.GetDirectoryName(packed)!;
                if (Directory.Exists(idFolder) && !Directory.EnumerateFileSystemEntries(idFolder).Any())
                {
                    Directory.Delete(idFolder); // nothing but this run's version was there
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException)
        {
            // Best effort: a leftover test version is never used again (each run has its own).
        }

        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private async Task PackAsync(string root)
    {
        var projects = Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal).ToList();
        PackageIds = [.. projects.Select(Path.GetFileNameWithoutExtension)!];
        // A solution filter over Xds.sln: one `dotnet pack` for all libraries, each built once.
        var filter = Path.Combine(WorkDirectory, "packages.slnf");
        var listed = string.Join(",\n      ", projects.Select(p => Json(Path.GetRelativePath(root, p))));
        await File.WriteAllTextAsync(filter, $$"""
            {
              "solution": {
                "path": {{Json(Path.Combine(root, "Xds.sln"))}},
                "projects": [
                  {{listed}}
                ]
              }
            }
            """);
        var artifacts = Path.Combine(WorkDirectory, "artifacts");
        PackOutput = await DotnetCli.RunAsync(WorkDirectory, PackTimeout,
            "pack", filter, "-c", "Release", "-o", Feed, "-nologo",
            $"-p:Version={Version}",
            "-p:ContinuousIntegrationBuild=true",
            "-p:UseArtifactsOutput=true",
            $"-p:ArtifactsPath={artifacts}",
            // A normal build's obj/ lies inside the repository and is mapped to /_/ with it; this one's is not.
            $"-p:PathMap={artifacts}/=/_artifacts/");
    }

    private async Task CreateAppAsync()
    {
        Log.AppendLine(await DotnetCli.RunAsync(WorkDirectory, StepTimeout, "new", "web", "-n", "PackagedHost", "-o", AppDirectory, "--no-restore"));
        // Adds the folder feed to the sources the machine already has: no <clear/>, no URL.
        await File.WriteAllTextAsync(Path.Combine(AppDirectory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="xdsserver-packaging-test" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
        Log.AppendLine(await DotnetCli.RunAsync(AppDirectory, StepTimeout, "add", "package", "XdsServer", "--version", Version));
        await File.WriteAllTextAsync(Path.Combine(AppDirectory, "Program.cs"), ProgramText);
        Log.AppendLine(await DotnetCli.RunAsync(AppDirectory, StepTimeout, "build", "-c", "Release", "-nologo"));
    }

    private static async Task<string> GlobalPackagesFolderAsync()
    {
        var output = await DotnetCli.RunAsync(Path.GetTempPath(), TimeSpan.FromMinutes(1), "nuget", "locals", "global-packages", "--list");
        const string prefix = "global-packages:";
        var line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no global packages folder in: {output}");
        return line[prefix.Length..].Trim();
    }

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>The app: what an adopter writes to embed the server (HTTP/2 cleartext on the URL given with
    /// <c>--urls</c>) and serve one listener and one cluster to one node.</summary>
    private const string ProgramText = $$"""
        using Envoy.Config.Cluster.V3;
        using Envoy.Config.Core.V3;
        using Envoy.Config.Endpoint.V3;
        using Envoy.Config.Listener.V3;
        using Envoy.Config.Route.V3;
        using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
        using Google.Protobuf.WellKnownTypes;
        using Microsoft.AspNetCore.Server.Kestrel.Core;
        using XdsServer.Cache;
        using EndpointProto = Envoy.Config.Endpoint.V3.Endpoint;
        using RouteProto = Envoy.Config.Route.V3.Route;
        using RouterFilter = Envoy.Extensions.Filters.Http.Router.V3.Router;

        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
        builder.Services.AddXdsServer().AddSnapshotCache();

        var app = builder.Build();
        app.MapXdsServer();

        var cluster = new Cluster
        {
            Name = "{{ClusterName}}",
            Type = Cluster.Types.DiscoveryType.Static,
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            LoadAssignment = new ClusterLoadAssignment
            {
                ClusterName = "{{ClusterName}}",
                Endpoints =
                {
                    new LocalityLbEndpoints
                    {
                        LbEndpoints =
                        {
                            new LbEndpoint
                            {
                                Endpoint = new EndpointProto
                                {
                                    Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = 8080 } },
                                },
                            },
                        },
                    },
                },
            },
        };
        var routes = new HttpConnectionManager
        {
            StatPrefix = "packaged",
            RouteConfig = new RouteConfiguration
            {
                Name = "local",
                VirtualHosts =
                {
                    new VirtualHost
                    {
                        Name = "all",
                        Domains = { "*" },
                        Routes = { new RouteProto { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = "{{ClusterName}}" } } },
                    },
                },
            },
            HttpFilters = { new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new RouterFilter()) } },
        };
        var listener = new Listener { Name = "packaged-listener", ApiListener = new ApiListener { ApiListener_ = Any.Pack(routes) } };

        app.Services.GetRequiredService<SnapshotCache>()
            .SetSnapshot("{{NodeId}}", Snapshot.CreateBuilder().Add(listener).Add(cluster).Build());
        app.Run();
        """;
}
