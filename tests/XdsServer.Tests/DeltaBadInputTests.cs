using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsServer.Tests;

/// <summary>Bad input on a delta stream: every name a request carries counts and is checked, whether it
/// subscribes, unsubscribes or reports a held version. The bad stream ends with a precise status; another
/// stream of the same node keeps receiving updates.</summary>
public class DeltaBadInputTests : IAsyncLifetime
{
    private const string Limit = "the limit is 1000";
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

    private static string[] Many(int count, string prefix = "c") => [.. Enumerable.Range(0, count).Select(i => prefix + i)];

    private static readonly Dictionary<string, (DeltaDiscoveryRequest Request, StatusCode Code, string Detail)> Cases = new()
    {
        ["too many unsubscribe names"] = (Request(unsubscribe: Many(1001)), StatusCode.ResourceExhausted,
            $"{TypeUrls.Cluster} request names 1001 resources; {Limit}"),
        ["too many initial versions"] = (Request(initial: Many(1001)), StatusCode.ResourceExhausted,
            $"{TypeUrls.Cluster} request names 1001 resources; {Limit}"),
        ["subscribe and unsubscribe together over the limit"] = (Request(subscribe: Many(600), unsubscribe: Many(401, "u")),
            StatusCode.ResourceExhausted, $"{TypeUrls.Cluster} request names 1001 resources; {Limit}"),
        ["empty unsubscribe name"] = (Request(unsubscribe: ["a", ""]), StatusCode.InvalidArgument,
            $"{TypeUrls.Cluster} request contains an empty resource name"),
        ["control character in an unsubscribe name"] = (Request(unsubscribe: ["a\u0007b"]), StatusCode.InvalidArgument,
            $"{TypeUrls.Cluster} request contains a resource name with a control character (U+0007): 'a\\u0007b'"),
        ["empty initial version name"] = (Request(initial: [""]), StatusCode.InvalidArgument,
            $"{TypeUrls.Cluster} request contains an empty resource name"),
        ["control character in an initial version name"] = (Request(initial: ["x\u001fy"]), StatusCode.InvalidArgument,
            $"{TypeUrls.Cluster} request contains a resource name with a control character (U+001F): 'x\\u001fy'"),
        ["initial version name too long"] = (Request(initial: [new string('x', 5000)]), StatusCode.InvalidArgument,
            $"{TypeUrls.Cluster} request contains a resource name of 5000 characters; the limit is 4096"),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Malformed_delta_request_ends_only_its_own_stream(string what)
    {
        var (request, code, detail) = Cases[what];
        await using var healthy = XdsProtocolClient.Delta(_server.Address, "n1");
        await healthy.SendDeltaAsync(TypeUrls.Listener, subscribe: ["*"]);
        var before = await healthy.NextDeltaAsync("listeners on a healthy delta stream");
        await healthy.AckDeltaAsync(before);

        await using var bad = XdsProtocolClient.Delta(_server.Address, "n1");
        await bad.SendDeltaRawAsync(request);
        var status = await bad.EndAsync($"the stream to end ({what})");

        Assert.Equal(code, status.StatusCode);
        Assert.Equal(detail, status.Detail);

        _server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello(listenerTag: what));
        var after = await healthy.NextDeltaAsync("the healthy stream still receives updates");
        Assert.Equal(["hello"], after.Resources.Select(r => r.Name));
        Assert.NotEqual(before.Resources[0].Version, after.Resources[0].Version);
    }

    private static DeltaDiscoveryRequest Request(string[]? subscribe = null, string[]? unsubscribe = null, string[]? initial = null)
    {
        var request = new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Cluster, Node = Fixtures.Node("n1") };
        request.ResourceNamesSubscribe.AddRange(subscribe ?? []);
        request.ResourceNamesUnsubscribe.AddRange(unsubscribe ?? []);
        foreach (var name in initial ?? [])
        {
            request.InitialResourceVersions[name] = "1";
        }

        return request;
    }
}
