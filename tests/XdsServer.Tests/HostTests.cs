using System.Net;
using System.Text;
using Envoy.Service.Status.V3;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace XdsServer.Tests;

/// <summary>Host integration: REST fetch, CSDS, callbacks, node authorization, options, health.</summary>
public class HostTests
{
    [Fact]
    public async Task Rest_fetch_answers_json_then_304_and_clear_errors()
    {
        await using var server = await LoopbackXdsServer.StartAsync(http1: true);
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var http = new HttpClient { BaseAddress = server.Address };

        var ok = await http.PostAsync("/v3/discovery:clusters", Json("""{"node":{"id":"n1"}}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var body = await ok.Content.ReadAsStringAsync();
        Assert.Contains("\"@type\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\"", body);
        Assert.Contains("\"name\": \"hello-cluster\"", body);
        var version = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("versionInfo").GetString();

        var current = await http.PostAsync("/v3/discovery:clusters", Json($$"""{"node":{"id":"n1"},"version_info":"{{version}}"}"""));
        Assert.Equal(HttpStatusCode.NotModified, current.StatusCode);

        var bad = await http.PostAsync("/v3/discovery:clusters", Json("{not json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not a DiscoveryRequest in proto3 JSON", await bad.Content.ReadAsStringAsync());

        var unknown = await http.PostAsync("/v3/discovery:widgets", Json("""{"node":{"id":"n1"}}"""));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("unknown discovery type 'widgets'", await unknown.Content.ReadAsStringAsync());

        var noNode = await http.PostAsync("/v3/discovery:clusters", Json("{}"));
        Assert.Equal(HttpStatusCode.BadRequest, noNode.StatusCode);
        Assert.Contains("a fetch must carry a node with an id", await noNode.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Csds_reports_acked_and_nacked_resources_per_node()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        await client.AckAsync(await client.NextAsync("clusters"));
        await client.SendAsync(TypeUrls.Listener, withNode: false);
        var lds = await client.NextAsync("listeners");
        await client.SendAsync(TypeUrls.Listener, nonce: lds.Nonce, error: "no thanks", withNode: false);

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        ClientStatusResponse status = null!;
        await Eventually.TrueAsync(() =>
        {
            status = csds.FetchClientStatus(Request("n1"));
            return status.Config.Count == 1 && status.Config[0].GenericXdsConfigs.Any(c =>
                c.TypeUrl == TypeUrls.Listener && c.Name.Length > 0 && c.ClientStatus == Envoy.Admin.V3.ClientResourceStatus.Nacked);
        }, "CSDS to show the NACK");

        var config = Assert.Single(status.Config);
        Assert.Equal("n1", config.Node.Id);
        var cluster = config.GenericXdsConfigs.Single(c => c.TypeUrl == TypeUrls.Cluster && c.Name.Length > 0);
        Assert.Equal(("hello-cluster", Envoy.Admin.V3.ClientResourceStatus.Acked, ConfigStatus.Synced),
            (cluster.Name, cluster.ClientStatus, cluster.ConfigStatus));
        Assert.Equal(TypeUrls.Cluster, cluster.XdsConfig.TypeUrl);
        var listener = config.GenericXdsConfigs.Single(c => c.TypeUrl == TypeUrls.Listener && c.Name.Length > 0);
        Assert.Equal("no thanks", listener.ErrorState.Details);
        Assert.Equal(ConfigStatus.Error, listener.ConfigStatus);

        // One type-level entry per type first (empty name, no config): the state of the type's last response.
        Assert.Equal([(TypeUrls.Cluster, ""), (TypeUrls.Cluster, "hello-cluster"), (TypeUrls.Listener, ""), (TypeUrls.Listener, listener.Name)],
            config.GenericXdsConfigs.Select(c => (c.TypeUrl, c.Name)));
        var clusters = config.GenericXdsConfigs[0];
        Assert.Equal((ConfigStatus.Synced, Envoy.Admin.V3.ClientResourceStatus.Acked, cluster.VersionInfo), (clusters.ConfigStatus, clusters.ClientStatus, clusters.VersionInfo));
        Assert.Null(clusters.XdsConfig);
        var listeners = config.GenericXdsConfigs[2];
        Assert.Equal((ConfigStatus.Error, Envoy.Admin.V3.ClientResourceStatus.Nacked, lds.VersionInfo), (listeners.ConfigStatus, listeners.ClientStatus, listeners.VersionInfo));
        Assert.Equal(("no thanks", lds.VersionInfo), (listeners.ErrorState.Details, listeners.ErrorState.VersionInfo));
        Assert.Null(listeners.XdsConfig);

        Assert.Empty(csds.FetchClientStatus(Request("someone-else")).Config);
    }

    [Fact]
    public async Task Callbacks_see_the_stream_life_and_can_reject_a_stream()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddCallbacks<RecordingCallbacks>());
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        var recorder = (RecordingCallbacks)server.Services.GetServices<IXdsCallbacks>().Single();

        await using (var client = XdsProtocolClient.Sotw(server.Address, "n1"))
        {
            await client.SendAsync(TypeUrls.Cluster);
            var cds = await client.NextAsync("clusters");
            await client.AckAsync(cds);
            server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello(port: 9));
            await client.SendAsync(TypeUrls.ClusterLoadAssignment, ["hello-cluster"], withNode: false);
            var eds = await client.NextAsync("endpoints");
            await client.SendAsync(TypeUrls.ClusterLoadAssignment, ["hello-cluster"], nonce: eds.Nonce, error: "nope", withNode: false);
            await Eventually.TrueAsync(() => recorder.Events.Contains("nack " + TypeUrls.ClusterLoadAssignment + " nope"), "the NACK callback");
        }

        await Eventually.TrueAsync(() => recorder.Events.Contains("closed n1"), "the close callback");
        Assert.Equal(
        [
            "opened n1", "request " + TypeUrls.Cluster, "response " + TypeUrls.Cluster, "request " + TypeUrls.Cluster,
            "ack " + TypeUrls.Cluster, "request " + TypeUrls.ClusterLoadAssignment, "response " + TypeUrls.ClusterLoadAssignment,
            "request " + TypeUrls.ClusterLoadAssignment, "nack " + TypeUrls.ClusterLoadAssignment + " nope", "closed n1",
        ], recorder.Events);

        await using var blocked = XdsProtocolClient.Sotw(server.Address, "blocked");
        await blocked.SendAsync(TypeUrls.Cluster);
        var end = await blocked.EndAsync("the callback to reject the stream");
        Assert.Equal((StatusCode.PermissionDenied, "blocked by test"), (end.StatusCode, end.Detail));
    }

    [Fact]
    public async Task A_node_authorizer_refuses_a_node_with_its_reason()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x => x.AddSnapshotCache().AddNodeAuthorizer<DenyIntruders>());
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());

        await using var intruder = XdsProtocolClient.Sotw(server.Address, "intruder");
        await intruder.SendAsync(TypeUrls.Cluster);
        var end = await intruder.EndAsync("the intruder to be refused");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
        Assert.Equal("node 'intruder' refused: not on the list", end.Detail);

        await using var friend = XdsProtocolClient.Sotw(server.Address, "n1");
        await friend.SendAsync(TypeUrls.Cluster);
        Assert.Single((await friend.NextAsync("clusters for an allowed node")).Resources);
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_with_a_clear_message()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            LoopbackXdsServer.StartAsync(options: o => o.MaxRequestBytes = 10));
        Assert.Contains("XdsServerOptions.MaxRequestBytes must be at least 1024 bytes (was 10).", e.Message);

        var noCache = await Assert.ThrowsAsync<OptionsValidationException>(() => LoopbackXdsServer.StartAsync(_ => { }));
        Assert.Contains("The xDS server has no cache: call AddSnapshotCache()", noCache.Message);
    }

    [Fact]
    public async Task Health_check_reports_the_server()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        var report = await server.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries["xds"].Status);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ClientStatusRequest Request(string nodeId)
    {
        var request = new ClientStatusRequest();
        request.NodeMatchers.Add(new Envoy.Type.Matcher.V3.NodeMatcher
        {
            NodeId = new Envoy.Type.Matcher.V3.StringMatcher { Exact = nodeId },
        });
        return request;
    }

    private sealed class DenyIntruders : INodeAuthorizer
    {
        public ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Envoy.Config.Core.V3.Node node, CancellationToken cancellationToken) =>
            ValueTask.FromResult(node.Id == "intruder" ? NodeAuthorization.Refused("not on the list") : NodeAuthorization.Allowed);
    }
}

/// <summary>Records every callback, in order.</summary>
public sealed class RecordingCallbacks : IXdsCallbacks
{
    private readonly List<string> _events = [];

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public ValueTask OnStreamOpenedAsync(XdsStreamContext stream, CancellationToken cancellationToken)
    {
        if (stream.Node!.Id == "blocked")
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "blocked by test"));
        }

        return Add($"opened {stream.Node.Id}");
    }

    public ValueTask OnStreamClosedAsync(XdsStreamContext stream) => Add($"closed {stream.Node?.Id}");

    public ValueTask OnRequestAsync(XdsStreamContext stream, Google.Protobuf.IMessage request, CancellationToken cancellationToken) =>
        stream.Node?.Id == "blocked" ? ValueTask.CompletedTask : Add($"request {((Envoy.Service.Discovery.V3.DiscoveryRequest)request).TypeUrl}");

    public ValueTask OnResponseAsync(XdsStreamContext stream, Google.Protobuf.IMessage response, CancellationToken cancellationToken) =>
        Add($"response {((Envoy.Service.Discovery.V3.DiscoveryResponse)response).TypeUrl}");

    public ValueTask OnAckAsync(XdsStreamContext stream, string typeUrl, string version, string nonce) => Add($"ack {typeUrl}");

    public ValueTask OnNackAsync(XdsStreamContext stream, string typeUrl, string nonce, Google.Rpc.Status errorDetail) =>
        Add($"nack {typeUrl} {errorDetail.Message}");

    private ValueTask Add(string e)
    {
        lock (_events)
        {
            _events.Add(e);
        }

        return ValueTask.CompletedTask;
    }
}
