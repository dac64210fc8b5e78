using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Envoy.Config.Cluster.V3;
using XdsServer.Cache;

namespace XdsServer.Packaging.Tests;

/// <summary>The packages install and work as an adopter uses them: a fresh ASP.NET Core app that references
/// <c>XdsServer</c> from a folder feed by version builds, runs, and answers a real xDS request; each package carries
/// its symbols, README and changelog; the core package does not bring a YAML parser.</summary>
public sealed partial class PackageConsumptionTests(PackagedConsumer consumer) : IClassFixture<PackagedConsumer>
{
    private static readonly XNamespace Nuspec = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd";

    [Fact]
    public async Task A_fresh_app_referencing_the_packages_answers_an_ads_request_for_its_clusters()
    {
        await using var app = await ConsumerApp.StartAsync(consumer.AppDirectory, TimeSpan.FromSeconds(60));
        await using var client = XdsProtocolClient.Sotw(app.Address, PackagedConsumer.NodeId);

        await client.SendAsync(TypeUrls.Cluster);
        var response = await client.NextAsync("the packaged app's clusters", TimeSpan.FromSeconds(30));

        Assert.Equal(TypeUrls.Cluster, response.TypeUrl);
        var cluster = Assert.Single(response.Resources).Unpack<Cluster>();
        Assert.Equal(PackagedConsumer.ClusterName, cluster.Name);
        Assert.Equal(Cluster.Types.DiscoveryType.Static, cluster.Type);
    }

    [Fact]
    public void Every_library_is_packed_without_warnings_with_symbols_readme_and_changelog()
    {
        Assert.DoesNotContain(": warning ", consumer.PackOutput, StringComparison.Ordinal);
        Assert.Contains("XdsServer.Files", consumer.PackageIds);
        foreach (var id in consumer.PackageIds)
        {
            var package = Path.Combine(consumer.Feed, $"{id}.{consumer.Version}.nupkg");
            var symbols = Path.Combine(consumer.Feed, $"{id}.{consumer.Version}.snupkg");
            Assert.True(File.Exists(package), $"{package} is missing; the feed holds: {string.Join(", ", Directory.GetFiles(consumer.Feed).Select(Path.GetFileName))}");
            Assert.True(File.Exists(symbols), $"{symbols} is missing (symbols must ship as .snupkg)");

            using (var zip = ZipFile.OpenRead(symbols))
            {
                var pdb = zip.Entries.SingleOrDefault(e => e.FullName == $"lib/net10.0/{id}.pdb");
                Assert.True(pdb is not null, $"{symbols} holds no lib/net10.0/{id}.pdb");
                AssertReproduciblePdbWithSources(id, pdb);
            }

            using var nupkg = ZipFile.OpenRead(package);
            Assert.Contains(nupkg.Entries, e => e.FullName == "README.md");
            Assert.Contains(nupkg.Entries, e => e.FullName == "CHANGELOG.md");
            var metadata = ReadNuspec(nupkg).Root!.Element(Nuspec + "metadata")!;
            Assert.Equal("README.md", metadata.Element(Nuspec + "readme")?.Value);
            Assert.Contains("CHANGELOG.md", metadata.Element(Nuspec + "releaseNotes")?.Value ?? string.Empty, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(Nuspec + "description")?.Value), $"{id} has no description");
        }
    }

    [Fact]
    public void The_core_package_depends_on_no_yaml_parser_and_the_files_package_brings_it()
    {
        Assert.Equal(["Grpc.AspNetCore", "XdsServer.Cache"], Dependencies("XdsServer").Order(StringComparer.Ordinal));
        Assert.Contains("YamlDotNet", Dependencies("XdsServer.Files"));
        Assert.Contains("XdsServer", Dependencies("XdsServer.Files"));

        // And what the app resolved with XdsServer alone has none either.
        var assets = File.ReadAllText(Path.Combine(consumer.AppDirectory, "obj", "project.assets.json"));
        Assert.Contains($"\"XdsServer/{consumer.Version}\"", assets, StringComparison.Ordinal);
        Assert.DoesNotContain("YamlDotNet", assets, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Built as CI builds (ContinuousIntegrationBuild): every source path is mapped to <c>/_/</c>, so no
    /// machine's folder is written into the symbols and the same commit builds the same bytes anywhere; and every
    /// source file is embedded, so a debugger needs neither network nor source server.</summary>
    private static void AssertReproduciblePdbWithSources(string id, ZipArchiveEntry pdb)
    {
        var bytes = new MemoryStream();
        using (var stream = pdb.Open())
        {
            stream.CopyTo(bytes);
        }

        bytes.Position = 0;
        using var provider = MetadataReaderProvider.FromPortablePdbStream(bytes);
        var reader = provider.GetMetadataReader();
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE"); // the portable PDB's EmbeddedSource kind
        var documents = 0;
        foreach (var handle in reader.Documents)
        {
            documents++;
            var name = reader.GetString(reader.GetDocument(handle).Name);
            Assert.True(name.StartsWith("/_/", StringComparison.Ordinal) || name.StartsWith("/_artifacts/", StringComparison.Ordinal),
                $"{id}.pdb names a source by its build machine path: {name}");
            var embedded = reader.GetCustomDebugInformation(handle)
                .Any(h => reader.GetGuid(reader.GetCustomDebugInformation(h).Kind) == embeddedSource);
            Assert.True(embedded, $"{id}.pdb does not embed {name}");
        }

        Assert.True(documents > 0, $"{id}.pdb lists no source documents");
    }

    private List<string> Dependencies(string id)
    {
        using var nupkg = ZipFile.OpenRead(Path.Combine(consumer.Feed, $"{id}.{consumer.Version}.nupkg"));
        return [.. ReadNuspec(nupkg).Descendants(Nuspec + "dependency").Select(d => (string)d.Attribute("id")!)];
    }

    private static XDocument ReadNuspec(ZipArchive nupkg)
    {
        var entry = nupkg.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream);
    }

    /// <summary>The consumer app as a process on a port Kestrel picks (<c>--urls http://127.0.0.1:0</c>); its address is
    /// read from the "Now listening on" line it prints. Killed on dispose.</summary>
    private sealed partial class ConsumerApp : ExampleProcess
    {
        private ConsumerApp(Process process, Uri address)
            : base(process, "PackagedHost")
        {
            Address = address;
        }

        public Uri Address { get; private set; }

        public static async Task<ConsumerApp> StartAsync(string appDirectory, TimeSpan timeout)
        {
            var dll = Path.Combine(appDirectory, "bin", "Release", "net10.0", "PackagedHost.dll");
            var process = Process.Start(DotnetCli.StartInfo(appDirectory, [dll, "--urls", "http://127.0.0.1:0"]))
                ?? throw new InvalidOperationException("dotnet did not start");
            var app = new ConsumerApp(process, new Uri("http://127.0.0.1:0"));
            try
            {
                using var cts = new CancellationTokenSource(timeout);
                Match match;
                while (!(match = ListeningOn().Match(app.Output)).Success)
                {
                    if (app.HasExited)
                    {
                        throw new InvalidOperationException($"the packaged app exited with {app.ExitCode} before listening. Output:\n{app.Output}");
                    }

                    if (cts.IsCancellationRequested)
                    {
                        throw new TimeoutException($"the packaged app did not print its address within {timeout.TotalSeconds:0} s. Output:\n{app.Output}");
                    }

                    await Task.Delay(100, CancellationToken.None); // polling the collected output, bounded above
                }

                app.Address = new Uri(match.Groups[1].Value);
                return app;
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
        }

        [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:[0-9]+)")]
        private static partial Regex ListeningOn();
    }
}
