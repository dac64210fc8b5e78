using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Demo;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Testing.Interop;

namespace MeshHost.Tests;

/// <summary>The demo mesh end to end with real proxyless gRPC clients (tests/clients): the generator's snapshot
/// for the client's Istio node, served by a loopback xDS server, routes the client's calls to the demo's
/// workloads as the VirtualService says.</summary>
/// <remarks>
/// <para>The reviews tests run grpc-js only: the reviews route configuration matches the header <c>end-user</c>,
/// and gRPC C-core 1.46/1.51 (Grpc.Core, python3-grpcio) reject a header matcher written as <c>string_match</c>
/// (the form istiod writes): python3-grpcio NACKs the whole route configuration with "Invalid route header matcher
/// specified." The nodes here say they are Envoy (MeshFixture.Node), so they get istiod's form; the generator's
/// per-client forms (GrpcClient: legacy header matchers for C-core before 1.56) are proven with the clients' own
/// user agents against the running host in Proxyless/ProxylessClientTests.cs.</para>
/// <para>The split and header tests hold once RouteBuilder.BuildVirtualHost turns the VirtualService into routes;
/// with a route-less virtual host the generator's default route spreads calls evenly and ignores the header.</para>
/// </remarks>
[Collection(nameof(ProxylessInteropTests))] // real clients are processes that take CPU to start: one at a time
public class ProxylessInteropTests : IAsyncLifetime
{
    private const string ReviewsTarget = "xds:///reviews.bookinfo.svc.cluster.local:9080";
    private DemoMesh _demo = null!;
    private PushContext _context = null!;
    private LoopbackXdsServer _server = null!;

    public async Task InitializeAsync()
    {
        _demo = await DemoMesh.StartAsync("cluster.local", CancellationToken.None);
        _context = await DemoContext.LoadAsync(_demo.ManifestsDirectory);
        _server = await LoopbackXdsServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _demo.DisposeAsync();
    }

    /// <summary>A bootstrap whose node is a proxyless client in bookinfo, with the snapshot the generator makes
    /// for that node set for it. The node's metadata (GENERATOR: grpc) is given to the generator here; the
    /// bootstrap carries the same id, which the snapshot cache keys by.</summary>
    private XdsBootstrap Bootstrap(string client)
    {
        var node = MeshFixture.Node("127.0.0.1", client + "-client", "bookinfo", generator: "grpc");
        Assert.True(Proxy.TryParse(node, out var proxy, out var error), error);
        Assert.True(proxy.IsProxylessGrpc);
        _server.Snapshots.SetSnapshot(node.Id, MeshGenerator.Generate(_context, proxy));
        return XdsBootstrap.For(_server, node.Id);
    }

    private static string Summary(IReadOnlyList<CallOutcome> outcomes) =>
        string.Join(", ", outcomes.GroupBy(o => o.Backend ?? o.Code.ToString()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}"));

    [Fact]
    public async Task Calls_without_the_header_reach_every_reviews_version()
    {
        // 20% of calls go to v3: missing it in 150 calls has probability 0.8^150 < 1e-14.
        var outcomes = await XdsClientRunner.GrpcJs.RunAsync(new XdsClientRun { Bootstrap = Bootstrap("grpc-js"), Target = ReviewsTarget, Calls = 150 });

        Assert.All(outcomes, o => Assert.True(o.Ok, o.ToString()));
        Assert.Equal(["reviews-v1", "reviews-v2", "reviews-v3"], outcomes.Select(o => o.Backend!).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Calls_split_50_30_20_over_reviews_v1_v2_v3_as_the_virtual_service_says()
    {
        const int Calls = 300;
        var outcomes = await XdsClientRunner.GrpcJs.RunAsync(new XdsClientRun { Bootstrap = Bootstrap("grpc-js"), Target = ReviewsTarget, Calls = Calls });

        Assert.All(outcomes, o => Assert.True(o.Ok, o.ToString()));
        // Each share within 12 points of its weight: at least 4 standard deviations for 300 calls (p = 0.5: 2.9
        // points), so a correct split fails this about once in 10^4 runs; an even 1/3 split fails it for v1.
        foreach (var (version, weight) in new[] { ("v1", 0.50), ("v2", 0.30), ("v3", 0.20) })
        {
            var share = outcomes.Count(o => o.Backend == $"reviews-{version}") / (double)Calls;
            Assert.True(Math.Abs(share - weight) <= 0.12, $"reviews-{version} got {share:P0} of {Calls} calls, want {weight:P0} ± 12 points ({Summary(outcomes)})");
        }
    }

    [Fact]
    public async Task Calls_from_jason_all_reach_reviews_v2()
    {
        var outcomes = await XdsClientRunner.GrpcJs.RunAsync(new XdsClientRun
        {
            Bootstrap = Bootstrap("grpc-js"),
            Target = ReviewsTarget,
            Calls = 30,
            Headers = new Dictionary<string, string> { ["end-user"] = "jason" },
        });

        Assert.True(outcomes.All(o => o.Backend == "reviews-v2"), $"want every call at reviews-v2: {Summary(outcomes)}");
    }

    [Theory]
    [InlineData("grpc-js", "xds:///api.example.com:80", "external-api")]
    [InlineData("grpc-js", "xds:///details:9080", "details-v1")]
    [InlineData("python-grpcio", "xds:///api.example.com:80", "external-api")]
    [InlineData("python-grpcio", "xds:///ratings.bookinfo.svc.cluster.local:9080", "ratings-v1")]
    [InlineData("grpc-core", "xds:///api.example.com:80", "external-api")]
    [InlineData("grpc-core", "xds:///productpage.bookinfo:9080", "productpage-v1")]
    public async Task A_real_client_reaches_the_workload_behind_a_service_name(string client, string target, string workload)
    {
        var outcomes = await XdsClientRunner.Get(client).RunAsync(new XdsClientRun { Bootstrap = Bootstrap(client), Target = target, Calls = 5 });

        Assert.True(outcomes.All(o => o.Backend == workload), $"{client} {target}: want every call at {workload}: {string.Join("; ", outcomes)}");
        Assert.Equal(5, _demo.Workload(workload).Calls);
    }
}

/// <summary>Runs the real-client tests one at a time.</summary>
[CollectionDefinition(nameof(ProxylessInteropTests), DisableParallelization = true)]
public sealed class ProxylessInteropGroup;
