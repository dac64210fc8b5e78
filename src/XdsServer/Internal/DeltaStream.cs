using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>A delta (incremental) stream (ADS or one type).</summary>
internal sealed class DeltaStream(XdsServerCore core, string? typeUrl, ServerCallContext call)
    : XdsStream<DeltaDiscoveryRequest>(core, XdsProtocol.Delta, typeUrl, call)
{
    protected override Node? NodeOf(DeltaDiscoveryRequest request) => request.Node;

    protected override async ValueTask HandleAsync(DeltaDiscoveryRequest request)
    {
        var type = ResolveType(request.TypeUrl);
        Core.ValidateNames(type.TypeUrl, request.ResourceNamesSubscribe,
            request.ResourceNamesSubscribe.Count + request.ResourceNamesUnsubscribe.Count + request.InitialResourceVersions.Count);
        Core.ValidateNames(type.TypeUrl, request.ResourceNamesUnsubscribe, 0);
        Core.ValidateNames(type.TypeUrl, [.. request.InitialResourceVersions.Keys], 0);
        await NotifyRequestAsync(request, type).ConfigureAwait(false);
        var slot = SlotFor(type, ClientState.ForDelta);

        if (request.ResponseNonce.Length > 0)
        {
            if (request.ResponseNonce == slot.LastSentNonce)
            {
                await AcknowledgeAsync(slot, request.ResponseNonce, slot.LastSentVersion ?? string.Empty, request.ErrorDetail)
                    .ConfigureAwait(false);
            }
            else
            {
                // Delta differs from SotW here: "the server must honor changes to the subscription state even
                // if the nonce is stale"; only the ACK/NACK meaning is dropped.
                XdsLog.StaleNonce(Core.Logger, StreamId, type.TypeUrl, ClientText.ForLog(request.ResponseNonce), slot.LastSentNonce);
            }
        }

        var initial = slot.State.Requests == 0 && request.InitialResourceVersions.Count > 0
            ? request.InitialResourceVersions
            : null;
        Update(slot, slot.State.ApplyDeltaRequest(request.ResourceNamesSubscribe, request.ResourceNamesUnsubscribe, initial));
    }

    /// <summary>The response message for a watch answer: what callbacks see, what a response not shared with other
    /// streams is written as, and (with an empty nonce) what a shared body is encoded from (Encoding/EncodedBody.cs).</summary>
    internal static DeltaDiscoveryResponse CreateResponse(WatchResponse response, string nonce)
    {
        var message = new DeltaDiscoveryResponse
        {
            SystemVersionInfo = response.Version,
            TypeUrl = response.TypeUrl,
            Nonce = nonce,
        };

        foreach (var resource in response.Resources)
        {
            message.Resources.Add(resource.DeltaResource);
        }

        message.RemovedResources.AddRange(response.RemovedNames);
        return message;
    }
}
