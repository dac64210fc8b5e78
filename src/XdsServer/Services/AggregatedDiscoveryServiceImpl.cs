using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsServer.Internal;

namespace XdsServer.Services;

/// <summary>ADS: every type on one stream, state of the world and delta, pushed in make-before-break order.</summary>
internal sealed class AggregatedDiscoveryServiceImpl(XdsServerCore core) : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, null, context).RunAsync(requestStream, responseStream);

    public override Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, null, context).RunAsync(requestStream, responseStream);
}
