using System.Buffers;
using System.Text;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace XdsLoad.Server;

/// <summary>A minimal ADS service over <see cref="FloorHub"/> (not XdsServer's): reads requests, writes prebuilt
/// messages. The gRPC stack still encodes each message per write, which for a prebuilt message is a copy of the
/// already-encoded resource bytes, the same as XdsServer's own writes. Bound by <see cref="FloorAdsMethods"/>.</summary>
internal sealed class FloorAdsService(FloorHub hub)
{
    public Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        RunAsync(requestStream, r => (r.TypeUrl, false), responseStream, delta: false, context);

    public Task DeltaAggregatedResources(IAsyncStreamReader<FloorDeltaRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        RunAsync(requestStream, r => (r.TypeUrl, r.Resumes), responseStream, delta: true, context);

    private async Task RunAsync<TRequest, TResponse>(IAsyncStreamReader<TRequest> requests, Func<TRequest, (string TypeUrl, bool Resumes)> read,
        IServerStreamWriter<TResponse> responses, bool delta, ServerCallContext context)
        where TResponse : class
    {
        var stream = hub.Open(delta);
        var writer = WriteAllAsync(stream, responses, context.CancellationToken);
        try
        {
            while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                var (typeUrl, resumes) = read(requests.Current);
                stream.OnRequest(typeUrl, resumes);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // The connection dropped.
        }
        finally
        {
            stream.Close();
        }

        try
        {
            await writer.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        catch (InvalidOperationException)
        {
            // Writing after the call ended.
        }
    }

    private static async Task WriteAllAsync<TResponse>(FloorStream stream, IServerStreamWriter<TResponse> responses, CancellationToken cancel)
        where TResponse : class
    {
        await foreach (var message in stream.Outgoing.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            await responses.WriteAsync((TResponse)message, cancel).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// What the floor reads of a delta request: its type, and whether it lists held versions (a reconnect). Nothing else
/// is parsed: the floor is the bare transport, so a reconnect costs it the connections and the bytes, not the
/// versions' strings (its answer to a reconnect is nothing: the load tool's proxies are up to date when they
/// reconnect, and XdsLoad's held-state check proves it).
/// </summary>
internal sealed record FloorDeltaRequest(string TypeUrl, bool Resumes)
{
    public static FloorDeltaRequest Read(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        var typeUrl = string.Empty;
        var resumes = false;
        while (!reader.End)
        {
            var tag = ReadVarint(ref reader);
            switch (tag & 7)
            {
                case 0:
                    ReadVarint(ref reader);
                    break;
                case 1:
                    reader.Advance(8);
                    break;
                case 5:
                    reader.Advance(4);
                    break;
                case 2:
                    var length = (long)ReadVarint(ref reader);
                    if (tag >> 3 == 2)
                    {
                        var bytes = payload.Slice(reader.Position, length);
                        typeUrl = Encoding.UTF8.GetString(bytes);
                    }

                    resumes |= tag >> 3 == 5;
                    reader.Advance(length);
                    break;
                default:
                    throw new InvalidDataException($"wire type {tag & 7} in a delta request");
            }
        }

        return new FloorDeltaRequest(typeUrl, resumes);
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                break;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("a truncated varint in a delta request");
    }
}

/// <summary>Binds <see cref="FloorAdsService"/>'s two ADS methods: SotW with the generated message parser, delta with
/// <see cref="FloorDeltaRequest"/>; responses are written as the generated code writes them.</summary>
internal sealed class FloorAdsMethods : IServiceMethodProvider<FloorAdsService>
{
    private const string Service = "envoy.service.discovery.v3.AggregatedDiscoveryService";

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<FloorAdsService> context)
    {
        context.AddDuplexStreamingMethod(
            new Method<DiscoveryRequest, DiscoveryResponse>(MethodType.DuplexStreaming, Service, "StreamAggregatedResources",
                Messages(DiscoveryRequest.Parser), Messages(DiscoveryResponse.Parser)),
            [],
            (service, requests, responses, call) => service.StreamAggregatedResources(requests, responses, call));
        context.AddDuplexStreamingMethod(
            new Method<FloorDeltaRequest, DeltaDiscoveryResponse>(MethodType.DuplexStreaming, Service, "DeltaAggregatedResources",
                new Marshaller<FloorDeltaRequest>(
                    static (_, _) => throw new NotSupportedException("the floor never writes a request"),
                    static context => FloorDeltaRequest.Read(context.PayloadAsReadOnlySequence())),
                Messages(DeltaDiscoveryResponse.Parser)),
            [],
            (service, requests, responses, call) => service.DeltaAggregatedResources(requests, responses, call));
    }

    private static Marshaller<T> Messages<T>(MessageParser<T> parser)
        where T : class, IMessage<T>, IBufferMessage => new(
        static (message, context) =>
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
