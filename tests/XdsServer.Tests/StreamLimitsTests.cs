using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.DependencyInjection;

namespace XdsServer.Tests;

/// <summary>docs/protocol.md, "Limits": what the server does past <c>MaxQueuedRequestsPerStream</c> and
/// <c>MaxResponseBytes</c>, over real streams.</summary>
public class StreamLimitsTests
{
    /// <summary>Five requests, each for another type; every one gets an answer once the stream continues.</summary>
    private static readonly (string TypeUrl, string[] Names)[] Requests =
    [
        (TypeUrls.Cluster, []),
        (TypeUrls.ClusterLoadAssignment, ["c1"]),
        (TypeUrls.Listener, []),
        (TypeUrls.RouteConfiguration, ["r1"]),
        (TypeUrls.Secret, ["s1"]),
    ];

    [Fact]
    public async Task A_flooding_client_is_read_no_further_than_the_queue_limit_and_then_continues()
    {
        const int limit = 1;
        var reads = new ReadCounter();
        var callbacks = new BlockingCallbacks(reads);
        await using var server = await LoopbackXdsServer.StartAsync(
            x => x.AddSnapshotCache(),
            o => o.MaxQueuedRequestsPerStream = limit,
            s =>
            {
                s.AddSingleton<IXdsCallbacks>(callbacks);
                s.AddGrpc(g => g.Interceptors.Add<ReadCountingInterceptor>(reads));
            });
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder()
            .Add(Fixtures.Listener("l1", "r1")).Add(Fixtures.Route("r1", "c1"))
            .Add(Fixtures.Cluster("c1")).Add(Fixtures.Endpoints("c1", 1)).Add(Fixtures.Secret("s1"))
            .Build());

        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        foreach (var (typeUrl, names) in Requests)
        {
            await client.SendAsync(typeUrl, names);
        }

        // The first request blocks in OnRequestAsync until every request has been read (only a reader that
        // ignores the limit gets there) or a second has passed. Read but not yet handled, at any callback: the
        // one in the loop, `limit` queued and one read that waits for a credit.
        var answered = new HashSet<string>();
        while (answered.Count < Requests.Length)
        {
            answered.Add((await client.NextAsync($"answers to all {Requests.Length} types (have {string.Join(", ", answered)}); {server.Describe()}")).TypeUrl);
        }

        Assert.Equal(Requests.Length, callbacks.Requests);
        Assert.True(callbacks.MaxAhead <= limit + 2,
            $"the server had read {callbacks.MaxAhead} requests it had not handled; the limit allows {limit + 2}");
        Assert.True(callbacks.MaxAhead >= limit + 1, $"the reader never filled the queue (max {callbacks.MaxAhead} read and not handled)");
    }

    [Fact]
    public async Task A_response_over_MaxResponseBytes_ends_its_stream_and_is_not_sent()
    {
        await using var server = await LoopbackXdsServer.StartAsync(options: o => o.MaxResponseBytes = 1024);
        var big = Fixtures.Cluster("big");
        big.Metadata = new Envoy.Config.Core.V3.Metadata();
        var fields = new Struct();
        fields.Fields["blob"] = Value.ForString(new string('x', 4096));
        big.Metadata.FilterMetadata["test"] = fields;
        server.Snapshots.SetSnapshot("big", Snapshot.CreateBuilder().Add(big).Add(Fixtures.Endpoints("big", 1)).Build());
        server.Snapshots.SetSnapshot("small", Snapshot.CreateBuilder().Add(Fixtures.Cluster("c1")).Add(Fixtures.Endpoints("c1", 1)).Build());

        await using var bigClient = XdsProtocolClient.Sotw(server.Address, "big");
        await using var smallClient = XdsProtocolClient.Sotw(server.Address, "small");
        await bigClient.SendAsync(TypeUrls.Cluster);
        await smallClient.SendAsync(TypeUrls.Cluster);

        // The first thing the big client sees is the end of its stream, not the response.
        var ended = await Assert.ThrowsAsync<RpcException>(() => bigClient.NextAsync("the stream to end"));
        Assert.Equal(StatusCode.ResourceExhausted, ended.StatusCode);
        Assert.Contains("exceeds the maximum configured message size", ended.Status.Detail, StringComparison.Ordinal);
        var small = await smallClient.NextAsync("a response under the limit on another stream");
        Assert.Equal("c1", small.Resources.Single().Unpack<Envoy.Config.Cluster.V3.Cluster>().Name);
    }

    /// <summary>How many requests the server has read from the transport (every MoveNext that yielded one).</summary>
    private sealed class ReadCounter
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public TaskCompletionSource AllRead { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Read(int total)
        {
            if (Interlocked.Increment(ref _reads) >= total)
            {
                AllRead.TrySetResult();
            }
        }
    }

    private sealed class ReadCountingInterceptor(ReadCounter counter) : Interceptor
    {
        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
            IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
            continuation(new CountingReader<TRequest>(requestStream, counter), responseStream, context);
    }

    private sealed class CountingReader<T>(IAsyncStreamReader<T> inner, ReadCounter counter) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var more = await inner.MoveNext(cancellationToken);
            if (more)
            {
                counter.Read(Requests.Length);
            }

            return more;
        }
    }

    /// <summary>Blocks the first request; records how far the reader got ahead of the loop.</summary>
    private sealed class BlockingCallbacks(ReadCounter reads) : IXdsCallbacks
    {
        private int _requests;
        private int _maxAhead;

        public int Requests => Volatile.Read(ref _requests);

        public int MaxAhead => Volatile.Read(ref _maxAhead);

        public async ValueTask OnRequestAsync(XdsStreamContext stream, Google.Protobuf.IMessage request, CancellationToken cancellationToken)
        {
            var handled = Interlocked.Increment(ref _requests);
            if (handled == 1)
            {
                // Not synchronisation: the wait gives a reader that ignores the limit the time to show it.
                await Task.WhenAny(reads.AllRead.Task, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken));
            }

            Note(reads.Reads - handled + 1);
        }

        private void Note(int ahead)
        {
            int seen;
            while (ahead > (seen = Volatile.Read(ref _maxAhead)) && Interlocked.CompareExchange(ref _maxAhead, ahead, seen) != seen)
            {
            }
        }
    }
}
