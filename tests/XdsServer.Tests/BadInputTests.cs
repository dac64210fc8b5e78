using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsServer.Tests;

/// <summary>Bad input ends that stream with a precise status; other streams are untouched.</summary>
public class BadInputTests : IAsyncLifetime
{
    private LoopbackXdsServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackXdsServer.StartAsync(options: o =>
        {
            o.MaxRequestBytes = 64 * 1024;
            o.MaxResourceNamesPerRequest = 1000;
        });
        _server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static readonly Dictionary<string, (DiscoveryRequest Request, StatusCode Code, string Detail)> Cases = new()
    {
        ["unknown type"] = (Request("type.googleapis.com/nope.Thing"), StatusCode.InvalidArgument, "unknown type URL 'type.googleapis.com/nope.Thing'; this server serves Secret, Runtime"),
        ["no type on ADS"] = (Request(""), StatusCode.InvalidArgument, "type_url is required on an aggregated (ADS) stream"),
        ["no node"] = (new DiscoveryRequest { TypeUrl = TypeUrls.Listener }, StatusCode.InvalidArgument, "the first request of a stream must carry the node"),
        ["empty node id"] = (new DiscoveryRequest { TypeUrl = TypeUrls.Listener, Node = new() }, StatusCode.InvalidArgument, "the node of the first request has an empty id"),
        ["empty name"] = (Request(TypeUrls.Cluster, ""), StatusCode.InvalidArgument, "request contains an empty resource name"),
        ["control character"] = (Request(TypeUrls.Cluster, "a\u0001b"), StatusCode.InvalidArgument, "a resource name with a control character (U+0001): 'a\\u0001b'"),
        ["too many names"] = (Request(TypeUrls.Cluster, [.. Enumerable.Range(0, 1001).Select(i => $"c{i}")]), StatusCode.ResourceExhausted, "names 1001 resources; the limit is 1000"),
        ["name too long"] = (Request(TypeUrls.Cluster, new string('x', 5000)), StatusCode.InvalidArgument, "a resource name of 5000 characters; the limit is 4096"),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Malformed_request_ends_only_its_own_stream(string what)
    {
        var (request, code, detail) = Cases[what];
        await using var healthy = XdsProtocolClient.Sotw(_server.Address, "n1");
        await healthy.SendAsync(TypeUrls.Listener);
        var before = await healthy.NextAsync("listeners on a healthy stream");
        await healthy.AckAsync(before);

        await using var bad = XdsProtocolClient.Sotw(_server.Address, "n1");
        await bad.SendRawAsync(request);
        var status = await bad.EndAsync($"the stream to end ({what})");

        Assert.Equal(code, status.StatusCode);
        Assert.Contains(detail, status.Detail);

        _server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello(listenerTag: what));
        var after = await healthy.NextAsync("the healthy stream still receives updates");
        Assert.NotEqual(before.VersionInfo, after.VersionInfo);
    }

    [Fact]
    public async Task A_request_larger_than_the_limit_is_refused()
    {
        await using var bad = XdsProtocolClient.Sotw(_server.Address, "n1");
        await bad.SendRawAsync(Request(TypeUrls.Cluster, [.. Enumerable.Range(0, 40).Select(i => new string('z', 2000) + i)]));

        var status = await bad.EndAsync("the stream to end for size");

        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Contains("exceeds the maximum configured message size", status.Detail);
    }

    private static DiscoveryRequest Request(string typeUrl, params string[] names)
    {
        var request = new DiscoveryRequest { TypeUrl = typeUrl, Node = Fixtures.Node("n1") };
        request.ResourceNames.AddRange(names);
        return request;
    }
}
