using System.Net;
using System.Text.RegularExpressions;
using MeshHost.Tests.Hosting;
using XdsServer.Cache;

namespace MeshHost.Tests;

/// <summary>The README's first command, run as a process: <c>dotnet run --project examples/MeshHost -c Release --
/// --urls http://127.0.0.1:15010 --http-urls http://127.0.0.1:15014</c> (the test runs the build that command runs,
/// with the arguments read from the README). <see cref="ReadmeWalkthroughTests"/> runs it on its fixed ports.</summary>
public sealed class HostProcessTests
{
    internal static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(60);

    [Fact]
    public void The_readme_opens_with_the_mesh_command_and_the_test_command_ci_runs()
    {
        Assert.Equal(
            [
                "dotnet run --project examples/MeshHost -c Release -- --urls http://127.0.0.1:15010 --http-urls http://127.0.0.1:15014",
                "./test.sh",
            ],
            Readme.OpeningCommands().Select(l => l.Split('#')[0].TrimEnd()));
        Assert.Equal(["--urls", "http://127.0.0.1:15010", "--http-urls", "http://127.0.0.1:15014"], MeshHostProcess.ReadmeArguments());
        Assert.Contains("exec ./test.sh", File.ReadAllText(Path.Combine(MeshHostProcess.RepositoryRoot, ".ci", "run")), StringComparison.Ordinal);

        // The client's install command the README gives is the one test.sh runs.
        var readme = File.ReadAllText(Path.Combine(MeshHostProcess.RepositoryRoot, "README.md"));
        var testSh = File.ReadAllText(Path.Combine(MeshHostProcess.RepositoryRoot, "test.sh"));
        Assert.Contains("`(cd tests/clients/node && npm ci --no-audit --no-fund)`", readme, StringComparison.Ordinal);
        Assert.Contains("node_dir=tests/clients/node", testSh, StringComparison.Ordinal);
        Assert.Contains("(cd \"$node_dir\" && npm ci --no-audit --no-fund)", testSh, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_readme_command_with_system_chosen_ports_serves_health_and_a_sidecar_its_configuration()
    {
        // The same command line with port 0 (the bound ports are read from the log), so that the test does not
        // depend on fixed ports being free.
        var args = MeshHostProcess.ReadmeArguments().Select(a => Regex.Replace(a, @":\d+$", ":0")).ToArray();
        await using var host = await MeshHostProcess.StartAsync(args);
        var (grpc, http) = await host.WaitForListeningAsync(http: true, StartupWait);
        await AssertServesASidecarAsync(host, grpc, http!);
    }

    [Fact]
    public async Task Bad_arguments_exit_with_code_2_the_reason_and_the_usage()
    {
        await using var host = await MeshHostProcess.StartAsync("--urls", "http://127.0.0.1:0", "--manifests", "/no/such/folder");
        Assert.Equal(2, await host.WaitForExitAsync(StartupWait));
        Assert.Contains("MeshHost: the manifests folder '/no/such/folder' does not exist", host.Output, StringComparison.Ordinal);
        Assert.Contains("usage: MeshHost --urls", host.Output, StringComparison.Ordinal);
    }

    internal static async Task AssertServesASidecarAsync(MeshHostProcess host, Uri grpc, Uri http)
    {
        await TestNodes.WaitForServingAsync(grpc, StartupWait, () => host.Output);
        Assert.Contains("The embedded demo mesh runs; its manifests are in ", host.Output, StringComparison.Ordinal);
        Assert.Contains("self-signed and kept in memory only", host.Output, StringComparison.Ordinal);

        // An ADS stream of a sidecar in bookinfo (at an address no demo workload has, so it gets no inbound service
        // clusters): its snapshot is generated when the stream opens, and the ADS answer carries exactly the clusters
        // and listeners the config dump shows: the demo's outbound ones and the fixed ones, with istiod's names.
        var node = TestNodes.Sidecar();
        using var client = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(10) };
        await using var proxy = XdsProtocolClient.Open(grpc, node);
        await proxy.SendAsync(TypeUrls.Cluster);
        await proxy.SendAsync(TypeUrls.Listener, withNode: false);
        string dump;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var response = await client.GetAsync("/debug/config_dump?proxy=" + Uri.EscapeDataString(node.Id));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                dump = await response.Content.ReadAsStringAsync();
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no snapshot was generated for the sidecar within 10 s. Output:\n{host.Output}");
            await Task.Delay(50);
        }

        using var json = System.Text.Json.JsonDocument.Parse(dump);
        var resources = json.RootElement.GetProperty("resources");
        var expected = new Dictionary<string, string[]>();
        foreach (var type in new[] { TypeUrls.Cluster, TypeUrls.Listener })
        {
            expected[type] = [.. resources.GetProperty(type).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).Order(StringComparer.Ordinal)];
        }

        foreach (var cluster in new[]
        {
            "BlackHoleCluster", "PassthroughCluster", "InboundPassthroughCluster",
            "outbound|9080||productpage.bookinfo.svc.cluster.local", "outbound|9080||details.bookinfo.svc.cluster.local",
            "outbound|9080||reviews.bookinfo.svc.cluster.local", "outbound|9080|v1|reviews.bookinfo.svc.cluster.local",
            "outbound|9080|v2|reviews.bookinfo.svc.cluster.local", "outbound|9080|v3|reviews.bookinfo.svc.cluster.local",
            "outbound|9080||ratings.bookinfo.svc.cluster.local", "outbound|80||api.example.com",
        })
        {
            Assert.Contains(cluster, expected[TypeUrls.Cluster]);
        }

        Assert.Contains("virtualOutbound", expected[TypeUrls.Listener]);
        Assert.Contains("virtualInbound", expected[TypeUrls.Listener]);
        Assert.Contains("0.0.0.0_9080", expected[TypeUrls.Listener]);

        var answered = new Dictionary<string, string[]>();
        for (var i = 0; i < 2; i++)
        {
            var response = await proxy.NextAsync("the sidecar's clusters and listeners");
            answered[response.TypeUrl] = [.. response.Resources.Select(r => ResourceName(response.TypeUrl, r)).Order(StringComparer.Ordinal)];
        }

        Assert.Equal(expected[TypeUrls.Cluster], answered[TypeUrls.Cluster]);
        Assert.Equal(expected[TypeUrls.Listener], answered[TypeUrls.Listener]);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        var proxies = await client.GetStringAsync("/debug/proxies");
        Assert.Contains(node.Id, proxies, StringComparison.Ordinal);
    }

    private static string ResourceName(string typeUrl, Google.Protobuf.WellKnownTypes.Any resource) => typeUrl == TypeUrls.Cluster
        ? resource.Unpack<Envoy.Config.Cluster.V3.Cluster>().Name
        : resource.Unpack<Envoy.Config.Listener.V3.Listener>().Name;
}

/// <summary>The README's walkthrough, as written, in one MeshHost process on the fixed ports 15010 and 15014 (so it
/// fails when something else holds them): the first command, then the client commands of "Connect a gRPC client"
/// (bootstrap examples/bootstrap/grpc-xds.json), each run with bash from the repository root, with the outcomes the
/// README promises; and examples/bootstrap/envoy.yaml's node over ADS (BootstrapFileTests.cs).</summary>
[Collection(nameof(ProxylessInteropTests))] // real clients are processes that take CPU to start: one at a time
public sealed partial class ReadmeWalkthroughTests : IClassFixture<ReadmeWalkthroughTests.ReadmeMeshHost>
{
    private static readonly TimeSpan ClientWait = TimeSpan.FromSeconds(120);
    private readonly ReadmeMeshHost _mesh;

    public ReadmeWalkthroughTests(ReadmeMeshHost mesh) => _mesh = mesh;

    [Fact]
    public async Task The_readme_command_as_written_listens_on_ports_15010_and_15014_and_serves_a_sidecar()
    {
        var host = await _mesh.HostAsync();
        Assert.Equal(new Uri("http://127.0.0.1:15010"), _mesh.Grpc);
        Assert.Equal(new Uri("http://127.0.0.1:15014"), _mesh.Http);
        await HostProcessTests.AssertServesASidecarAsync(host, _mesh.Grpc, _mesh.Http);
    }

    [Fact]
    public void The_readme_bootstrap_file_names_the_first_command_s_port_and_a_proxyless_client_in_bookinfo()
    {
        var (setup, _) = Readme.ClientBlock();
        Assert.Equal("export GRPC_XDS_BOOTSTRAP=" + BootstrapFile.PathOf("grpc-xds.json"), setup);
        using var bootstrap = System.Text.Json.JsonDocument.Parse(BootstrapFile.Read("grpc-xds.json"));
        var server = Assert.Single(bootstrap.RootElement.GetProperty("xds_servers").EnumerateArray());
        var urls = MeshHostProcess.ReadmeArguments()[Array.IndexOf(MeshHostProcess.ReadmeArguments(), "--urls") + 1];
        Assert.Equal(new Uri(urls).Authority, server.GetProperty("server_uri").GetString());
        Assert.Equal("insecure", server.GetProperty("channel_creds")[0].GetProperty("type").GetString());

        // The node as the host reads it: an Istio node id, proxyless (GENERATOR: grpc), in bookinfo.
        var node = Google.Protobuf.JsonParser.Default.Parse<Envoy.Config.Core.V3.Node>(bootstrap.RootElement.GetProperty("node").GetRawText());
        Assert.True(MeshHost.Model.Proxy.TryParse(node, out var proxy, out var error), error);
        Assert.True(proxy.IsProxylessGrpc);
        Assert.Equal("bookinfo", proxy.Namespace);
        Assert.Equal("demo-client", proxy.PodName);
    }

    /// <summary>The jason rule: every call at reviews-v2. Were the header ignored, the weights would put all 10 calls
    /// at v2 with probability 0.3^10 (about 6 in a million).</summary>
    [Fact]
    public async Task The_readme_client_command_with_the_jason_header_reaches_only_reviews_v2()
    {
        await _mesh.HostAsync();
        var command = Readme.ClientCommand(having: true, "--header end-user=jason");
        var calls = Readme.CallCount(command);
        var script = Readme.ClientBlock().Setup + "\n" + command;
        var run = await Readme.RunAsync(script, ClientWait);

        Assert.True(run.ExitCode == 0, Readme.Describe(script, run));
        var backends = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement)
            .Select(o => o.GetProperty("ok").GetBoolean() ? o.GetProperty("backend").GetString() : o.GetRawText())
            .ToList();
        Assert.True(backends.Count == calls, Readme.Describe(script, run));
        Assert.True(backends.All(b => b == "reviews-v2"), Readme.Describe(script, run));
    }

    /// <summary>The weighted split: the counted output names reviews-v1, v2 and v3 and adds up to every call. With
    /// the VirtualService's weights 50/30/20, missing v3 in 100 calls has probability 0.8^100 (about 2e-10).</summary>
    [Fact]
    public async Task The_readme_client_command_without_the_header_reaches_all_three_reviews_versions()
    {
        await _mesh.HostAsync();
        var command = Readme.ClientCommand(having: false, "--header end-user=jason");
        var calls = Readme.CallCount(command);
        Assert.True(calls >= 100, $"`{command}`: {calls} calls are too few to see v3 (weight 20) every time");
        var script = Readme.ClientBlock().Setup + "\n" + command;
        var run = await Readme.RunAsync(script, ClientWait);

        Assert.True(run.ExitCode == 0, Readme.Describe(script, run));
        var counts = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => CountLine().Match(line))
            .Select(m => m.Success ? (Key: m.Groups[2].Value, Count: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)) : (Key: m.Value, Count: 0))
            .ToDictionary(c => c.Key, c => c.Count);
        Assert.True(counts.Keys.Order(StringComparer.Ordinal).SequenceEqual(
            ["\"backend\":\"reviews-v1\"}", "\"backend\":\"reviews-v2\"}", "\"backend\":\"reviews-v3\"}"]), Readme.Describe(script, run));
        Assert.True(counts.Values.Sum() == calls, Readme.Describe(script, run));
    }

    [GeneratedRegex(@"^\s*(\d+) (\S+)$")]
    private static partial Regex CountLine();

    /// <summary>The README's first command, as written, started once for the class.</summary>
    public sealed class ReadmeMeshHost : IAsyncLifetime
    {
        private MeshHostProcess? _host;
        private Exception? _failure;

        public Uri Grpc { get; private set; } = null!;

        public Uri Http { get; private set; } = null!;

        /// <summary>The running host; rethrows why it did not start.</summary>
        internal Task<MeshHostProcess> HostAsync() => _failure is { } e
            ? throw new InvalidOperationException("the README's MeshHost command did not start: " + e.Message, e)
            : Task.FromResult(_host!);

        public async Task InitializeAsync()
        {
            try
            {
                _host = await MeshHostProcess.StartAsync(MeshHostProcess.ReadmeArguments());
                var (grpc, http) = await _host.WaitForListeningAsync(http: true, HostProcessTests.StartupWait);
                (Grpc, Http) = (grpc, http!);
                await TestNodes.WaitForServingAsync(grpc, HostProcessTests.StartupWait, () => _host.Output);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                _failure = e;
            }
        }

        public async Task DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
        }
    }
}
