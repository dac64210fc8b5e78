using System.Net;
using System.Text;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using ListenerDiscoveryClient = Envoy.Service.Listener.V3.ListenerDiscoveryService.ListenerDiscoveryServiceClient;

namespace XdsServer.Tests;

/// <summary>
/// "Not served" is asked (<see cref="ICache.Serves"/>) and is the client's mistake: INVALID_ARGUMENT with a precise
/// message. Anything a cache throws is the server's fault, whatever its type: INTERNAL (HTTP 500 over REST) with a
/// message that says nothing of the exception, an Error log line with the exception, and no other stream disturbed.
/// </summary>
public class CacheFaultTests
{
    /// <summary>Event id of "the cache failed" (XdsLog.CacheFailed).</summary>
    private const int CacheFailedEvent = 2015;

    /// <summary>Text only the exception carries: it must reach the log and never the client.</summary>
    private const string Secret = "db password is hunter2";

    public static TheoryData<string> Faults() => [nameof(ArgumentException), nameof(InvalidOperationException)];

    private static Exception Fault(string kind) => kind == nameof(ArgumentException)
        ? new ArgumentException($"cache bug: {Secret}")
        : new InvalidOperationException($"cache bug: {Secret}");

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_watch_that_throws_ends_that_sotw_stream_with_internal_and_is_logged_as_an_error(string kind)
    {
        var cache = new FaultyCache { WatchFault = () => Fault(kind) };
        await using var server = await StartAsync(cache);
        await using var healthy = await HealthyClustersStreamAsync(server, cache);

        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Listener);
        var status = await client.EndAsync("the stream whose watch throws to end");

        AssertServerFault(status, server, kind, "CreateWatch");
        await AssertStillServedAsync(healthy, cache);
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_watch_that_throws_ends_that_delta_stream_with_internal(string kind)
    {
        var cache = new FaultyCache { WatchFault = () => Fault(kind) };
        await using var server = await StartAsync(cache);
        await using var healthy = await HealthyClustersStreamAsync(server, cache);

        await using var client = XdsProtocolClient.Delta(server.Address, "n1");
        await client.SendDeltaAsync(TypeUrls.Listener, subscribe: ["*"]);
        var status = await client.EndAsync("the delta stream whose watch throws to end");

        AssertServerFault(status, server, kind, "CreateWatch");
        await AssertStillServedAsync(healthy, cache);
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_fetch_that_throws_fails_the_grpc_fetch_with_internal(string kind)
    {
        var cache = new FaultyCache { FetchFault = () => Fault(kind) };
        await using var server = await StartAsync(cache);
        await using var healthy = await HealthyClustersStreamAsync(server, cache);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            new ListenerDiscoveryClient(channel).FetchListenersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") }).ResponseAsync);

        AssertServerFault(e.Status, server, kind, "Fetch");
        await AssertStillServedAsync(healthy, cache);
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_fetch_that_throws_fails_the_rest_fetch_with_500(string kind)
    {
        var cache = new FaultyCache { FetchFault = () => Fault(kind) };
        await using var server = await StartAsync(cache, http1: true);
        using var http = new HttpClient { BaseAddress = server.Address };

        using var response = await http.PostAsync("/v3/discovery:listeners",
            new StringContent("""{"node":{"id":"n1"}}""", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains($"the server failed to answer {TypeUrls.Listener}: an internal error", body);
        AssertSaysNothingOfTheException(body, kind);
        AssertLogged(server, kind, "Fetch");

        using var clusters = await http.PostAsync("/v3/discovery:clusters",
            new StringContent("""{"node":{"id":"n1"}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, clusters.StatusCode);
    }

    [Fact]
    public async Task A_stream_whose_tracking_throws_ends_with_internal()
    {
        var cache = new FaultyCache { TrackFault = () => Fault(nameof(InvalidOperationException)) };
        await using var server = await StartAsync(cache);
        await using var healthy = await HealthyClustersStreamAsync(server, cache);

        await using var client = XdsProtocolClient.Sotw(server.Address, "faulty");
        await client.SendAsync(TypeUrls.Cluster);
        var status = await client.EndAsync("the stream the cache fails to track to end");

        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal("the server failed to open the stream: an internal error, which the server logged", status.Detail);
        AssertSaysNothingOfTheException(status.Detail, nameof(InvalidOperationException));
        AssertLogged(server, nameof(InvalidOperationException), "TrackStream", "every type");
        await AssertStillServedAsync(healthy, cache);
    }

    [Fact]
    public async Task Ordering_decides_from_the_response_snapshot_and_never_fetches()
    {
        // Make before break asks whether a referenced cluster the client subscribed to but lacks will be sent: the
        // answer is in the snapshot the routes came from (here: no such cluster), never a fetch from the cache, which
        // would fail this stream with INTERNAL.
        var cache = new FaultyCache { FaultyType = TypeUrls.Cluster, FetchFault = () => Fault(nameof(ArgumentException)) };
        cache.Inner.SetSnapshot("n1", Snapshot.CreateBuilder().Add(Fixtures.Route("r", "c")).Include(TypeUrls.Cluster).Build());
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddCache(cache));

        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster, ["c"]);
        await client.SendAsync(TypeUrls.RouteConfiguration, ["r"], withNode: false);
        while (true)
        {
            var response = await client.NextAsync($"the routes; the server logged:\n{server.Logs.Describe()}\n{server.Describe()}");
            if (response.TypeUrl == TypeUrls.RouteConfiguration)
            {
                Assert.Equal("r", response.Resources.Single().Unpack<Envoy.Config.Route.V3.RouteConfiguration>().Name);
                break;
            }

            Assert.Equal(TypeUrls.Cluster, response.TypeUrl);
        }
    }

    [Theory]
    [MemberData(nameof(UnservedCaches))]
    public async Task A_type_the_cache_does_not_serve_is_invalid_argument_with_a_precise_message(string what)
    {
        await using var server = await LoopbackXdsServer.StartAsync(UnservedCaches(what));
        var expected = $"{TypeUrls.Listener} is not served by this server";

        await using var sotw = XdsProtocolClient.Sotw(server.Address, "n1");
        await sotw.SendAsync(TypeUrls.Listener);
        var status = await sotw.EndAsync("the SotW stream asking for listeners to end");
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(expected, status.Detail);

        await using var delta = XdsProtocolClient.Delta(server.Address, "n1");
        await delta.SendDeltaAsync(TypeUrls.Listener, subscribe: ["*"]);
        status = await delta.EndAsync("the delta stream asking for listeners to end");
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(expected, status.Detail);

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            new ListenerDiscoveryClient(channel).FetchListenersAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(expected, e.Status.Detail);

        // The served type still is, on the same node; and a client's mistake is never logged above Information.
        await using var clusters = XdsProtocolClient.Sotw(server.Address, "n1");
        await clusters.SendAsync(TypeUrls.Cluster);
        Assert.Equal(["c"], SotwStreamTests.Names<ClusterProto>(await clusters.NextAsync("clusters, which are served")));
        // (2008 is the startup warning that no node authorizer is registered.)
        Assert.DoesNotContain(server.Logs.Entries, l => l.Level > LogLevel.Information && l.EventId.Id != 2008);
        Assert.Contains(server.Logs.Entries, l => l.EventId.Id == 2002 && l.Level == LogLevel.Information && l.Message.Contains(expected));
    }

    public static TheoryData<string> UnservedCaches() => ["a linear cache of clusters", "per-type caches without a default"];

    private static Action<IXdsServerBuilder> UnservedCaches(string what) => what == "a linear cache of clusters"
        ? x => x.AddCache(ClustersOnly())
        : x => x.AddCache(TypeUrls.Cluster, _ => ClustersOnly()).AddLinearCache(EnvoyResourceTypes.ClusterLoadAssignment);

    private static LinearCache ClustersOnly()
    {
        var cache = new LinearCache(EnvoyResourceTypes.Cluster);
        cache.UpdateResource(Fixtures.Cluster("c"));
        return cache;
    }

    private static Task<LoopbackXdsServer> StartAsync(FaultyCache cache, bool http1 = false)
    {
        cache.Inner.SetSnapshot("n1", SotwStreamTests.Hello());
        return LoopbackXdsServer.StartAsync(x => x.AddCache(cache), http1: http1);
    }

    /// <summary>A stream of the same node on a type the cache answers, to show it is not disturbed.</summary>
    private static async Task<XdsProtocolClient> HealthyClustersStreamAsync(LoopbackXdsServer server, FaultyCache cache)
    {
        var healthy = XdsProtocolClient.Sotw(server.Address, "n1");
        await healthy.SendAsync(TypeUrls.Cluster);
        await healthy.AckAsync(await healthy.NextAsync("clusters on a healthy stream"));
        return healthy;
    }

    private static async Task AssertStillServedAsync(XdsProtocolClient healthy, FaultyCache cache)
    {
        Assert.True(cache.Inner.TryGetSnapshot("n1", out var snapshot));
        cache.Inner.SetSnapshot("n1", snapshot.ToBuilder().Add(Fixtures.Cluster("added")).Add(Fixtures.Endpoints("added", 1)).Build());
        var update = await healthy.NextAsync("the healthy stream still receives updates");
        Assert.Contains("added", SotwStreamTests.Names<ClusterProto>(update));
    }

    private static void AssertServerFault(Status status, LoopbackXdsServer server, string kind, string operation,
        string typeUrl = TypeUrls.Listener)
    {
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal($"the server failed to answer {typeUrl}: an internal error, which the server logged", status.Detail);
        AssertSaysNothingOfTheException(status.Detail, kind);
        AssertLogged(server, kind, operation, typeUrl);
    }

    private static void AssertSaysNothingOfTheException(string text, string kind)
    {
        Assert.DoesNotContain(Secret, text);
        Assert.DoesNotContain("cache bug", text);
        Assert.DoesNotContain(kind, text);
        Assert.DoesNotContain("not served", text);
    }

    private static void AssertLogged(LoopbackXdsServer server, string kind, string operation, string typeUrl = TypeUrls.Listener)
    {
        var entry = Assert.Single(server.Logs.Entries, l => l.EventId.Id == CacheFailedEvent);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal(kind, entry.Exception?.GetType().Name);
        Assert.Contains(Secret, entry.Exception!.Message);
        Assert.Contains($"the cache failed in {operation} for {typeUrl}", entry.Message);
    }

    /// <summary>A snapshot cache that throws, for one type, from CreateWatch and/or Fetch.</summary>
    private sealed class FaultyCache : ICache
    {
        public SnapshotCache Inner { get; } = new();

        public string FaultyType { get; init; } = TypeUrls.Listener;

        public Func<Exception>? WatchFault { get; init; }

        public Func<Exception>? FetchFault { get; init; }

        public bool Serves(string typeUrl, Envoy.Config.Core.V3.Node node) => true;

        public IDisposable CreateWatch(WatchRequest request, Action<WatchResponse> onResponse) =>
            request.TypeUrl == FaultyType && WatchFault is { } fault ? throw fault() : Inner.CreateWatch(request, onResponse);

        public FetchResult Fetch(FetchRequest request) =>
            request.TypeUrl == FaultyType && FetchFault is { } fault ? throw fault() : Inner.Fetch(request);

        public Func<Exception>? TrackFault { get; init; }

        public IDisposable TrackStream(Envoy.Config.Core.V3.Node node) =>
            node.Id == "faulty" && TrackFault is { } fault ? throw fault() : Inner.TrackStream(node);
    }
}
