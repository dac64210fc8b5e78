using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsLoad.Server;

/// <summary>A minimal ADS service over <see cref="FloorHub"/> (not XdsServer's): reads requests, writes prebuilt
/// messages. The gRPC stack still encodes each message per write, which for a prebuilt message is a copy of the
/// already-encoded resource bytes, the same as XdsServer's own writes.</summary>
internal sealed class FloorAdsService(FloorHub hub) : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        RunAsync(requestStream, r => r.TypeUrl, responseStream, delta: false, context);

    public override Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        RunAsync(requestStream, r => r.TypeUrl, responseStream, delta: true, context);

    private async Task RunAsync<TRequest, TResponse>(IAsyncStreamReader<TRequest> requests, Func<TRequest, string> typeOf,
        IServerStreamWriter<TResponse> responses, bool delta, ServerCallContext context)
        where TResponse : class
    {
        var stream = hub.Open(delta);
        var writer = WriteAllAsync(stream, responses, context.CancellationToken);
        try
        {
            while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                stream.OnRequest(typeOf(requests.Current));
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
