using Envoy.Config.Core.V3;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace XdsServer.Tests;

/// <summary>
/// An exception from a callback or an authorizer is the server's fault: that stream ends with INTERNAL and a detail
/// that says nothing of the exception (never gRPC's UNKNOWN "Exception was thrown by handler"), the exception is logged
/// as an error with the stream id, and other streams go on.
/// </summary>
public class HandlerFaultTests
{
    /// <summary>Event id of "stream failed" (XdsLog.StreamFailed).</summary>
    private const int StreamFailedEvent = 2010;

    private const string Secret = "callback bug: token abc123";

    private const string Expected = "the server failed to serve the stream: an internal error, which the server logged";

    [Fact]
    public async Task A_request_callback_that_throws_ends_that_stream_with_internal_and_others_go_on()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x =>
        {
            x.AddSnapshotCache();
            x.Services.AddSingleton<IXdsCallbacks>(new ThrowingForNode("bad"));
        });
        server.Snapshots.SetSnapshot("good", SotwStreamTests.Hello());
        server.Snapshots.SetSnapshot("bad", SotwStreamTests.Hello());
        await using var good = XdsProtocolClient.Sotw(server.Address, "good");
        await good.SendAsync(TypeUrls.Cluster);
        await good.AckAsync(await good.NextAsync("clusters for the healthy stream"));

        await using var bad = XdsProtocolClient.Sotw(server.Address, "bad");
        await bad.SendAsync(TypeUrls.Cluster);
        var status = await bad.EndAsync("the stream whose request callback throws to end");

        AssertServerFault(status, server);
        server.Snapshots.SetSnapshot("good", SotwStreamTests.Hello(port: 9));
        await good.SendAsync(TypeUrls.ClusterLoadAssignment, ["hello-cluster"], withNode: false);
        Assert.Equal(TypeUrls.ClusterLoadAssignment, (await good.NextAsync("endpoints on the healthy stream")).TypeUrl);
    }

    [Fact]
    public async Task An_authorizer_that_throws_ends_the_stream_with_internal()
    {
        await using var server = await LoopbackXdsServer.StartAsync(x =>
        {
            x.AddSnapshotCache();
            x.Services.AddSingleton<INodeAuthorizer>(new ThrowingForNode("bad"));
        });
        server.Snapshots.SetSnapshot("bad", SotwStreamTests.Hello());

        await using var bad = XdsProtocolClient.Delta(server.Address, "bad");
        await bad.SendDeltaAsync(TypeUrls.Cluster, subscribe: ["*"]);
        var status = await bad.EndAsync("the stream whose authorizer throws to end");

        AssertServerFault(status, server);
    }

    private static void AssertServerFault(Status status, LoopbackXdsServer server)
    {
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal(Expected, status.Detail);
        Assert.DoesNotContain(Secret, status.Detail);
        var entry = Assert.Single(server.Logs.Entries, l => l.EventId.Id == StreamFailedEvent);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal(Secret, entry.Exception?.Message);
    }

    /// <summary>Throws from its request callback and its authorization for one node; allows everyone else.</summary>
    private sealed class ThrowingForNode(string nodeId) : IXdsCallbacks, INodeAuthorizer
    {
        public ValueTask OnRequestAsync(XdsStreamContext stream, IMessage request, CancellationToken cancellationToken) =>
            stream.Node?.Id == nodeId ? throw new InvalidOperationException(Secret) : ValueTask.CompletedTask;

        public ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Node node, CancellationToken cancellationToken) =>
            node.Id == nodeId ? throw new InvalidOperationException(Secret) : ValueTask.FromResult(NodeAuthorization.Allowed);
    }
}
