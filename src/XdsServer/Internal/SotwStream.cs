using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>A state-of-the-world stream (ADS or one type).</summary>
internal sealed class SotwStream(XdsServerCore core, string? typeUrl, ServerCallContext call)
    : XdsStream<DiscoveryRequest>(core, XdsProtocol.StateOfTheWorld, typeUrl, call)
{
    protected override Node? NodeOf(DiscoveryRequest request) => request.Node;

    protected override string RequestMessageName => nameof(DiscoveryRequest);

    protected override async ValueTask HandleAsync(DiscoveryRequest request)
    {
        var type = ResolveType(request.TypeUrl);
        Core.ValidateNames(type.TypeUrl, request.ResourceNames, request.ResourceNames.Count);
        await NotifyRequestAsync(request, type).ConfigureAwait(false);
        var slot = SlotFor(type, ClientState.ForSotw);

        if (request.ResponseNonce.Length > 0)
        {
            // "A request whose response_nonce is not the latest nonce sent for that type is stale: it must
            // not cause a response." The client will answer the newer response anyway.
            if (request.ResponseNonce != slot.LastSentNonce)
            {
                XdsLog.StaleNonce(Core.Logger, StreamId, type.TypeUrl, ClientText.ForLog(request.ResponseNonce), slot.LastSentNonce);
                return;
            }

            // NACK: error_detail set, version_info is the previous good version. It is not a request for a
            // resend: the state keeps what was sent, so the rejected version is not sent again.
            await AcknowledgeAsync(slot, request.ResponseNonce, request.VersionInfo, request.ErrorDetail).ConfigureAwait(false);
        }

        Update(slot, slot.State.ApplySotwRequest(request.ResourceNames, request.VersionInfo));
    }

    /// <summary>The response message for a watch answer: what callbacks see, what a response not shared with other
    /// streams is written as, and (with an empty nonce) what a shared body is encoded from (Encoding/EncodedBody.cs).</summary>
    internal static DiscoveryResponse CreateResponse(WatchResponse response, string nonce)
    {
        var message = new DiscoveryResponse
        {
            VersionInfo = response.Version,
            TypeUrl = response.TypeUrl,
            Nonce = nonce,
        };

        // The same Any per resource version on every stream: bytes are copied into the frame, never re-encoded.
        foreach (var resource in response.Resources)
        {
            message.Resources.Add(resource.Packed);
        }

        return message;
    }
}
