using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal.Encoding;

namespace XdsServer.Internal;

/// <summary>A delta (incremental) stream (ADS or one type).</summary>
internal sealed class DeltaStream(XdsServerCore core, string? typeUrl, ServerCallContext call)
    : XdsStream<DeltaRequest>(core, XdsProtocol.Delta, typeUrl, call)
{
    protected override Node? NodeOf(DeltaRequest request) => request.Message.Node;

    protected override string RequestMessageName => nameof(DeltaDiscoveryRequest);

    protected override async ValueTask HandleAsync(DeltaRequest request)
    {
        try
        {
            await ApplyAsync(request).ConfigureAwait(false);
        }
        finally
        {
            request.Release();
        }
    }

    private async ValueTask ApplyAsync(DeltaRequest request)
    {
        var message = request.Message;
        var type = ResolveType(message.TypeUrl);
        Core.ValidateNames(type.TypeUrl, message.ResourceNamesSubscribe,
            message.ResourceNamesSubscribe.Count + message.ResourceNamesUnsubscribe.Count + request.InitialVersionCount);
        Core.ValidateNames(type.TypeUrl, message.ResourceNamesUnsubscribe, 0);
        if (Core.RequestCallbacks.Count > 0)
        {
            request.Materialize(); // a callback sees the whole request
        }

        if (request.InitialVersions is null)
        {
            Core.ValidateNames(type.TypeUrl, [.. message.InitialResourceVersions.Keys], 0);
        }

        await NotifyRequestAsync(message, type).ConfigureAwait(false);
        var slot = SlotFor(type, ClientState.ForDelta);

        var stale = false;
        if (message.ResponseNonce.Length > 0)
        {
            stale = message.ResponseNonce != slot.LastSentNonce;
            if (!stale)
            {
                await AcknowledgeAsync(slot, message.ResponseNonce, slot.LastSentVersion ?? string.Empty, message.ErrorDetail)
                    .ConfigureAwait(false);
            }
            else
            {
                // Delta differs from SotW here: "the server must honor changes to the subscription state even
                // if the nonce is stale"; only the ACK/NACK meaning is dropped.
                XdsLog.StaleNonce(Core.Logger, StreamId, type.TypeUrl, ClientText.ForLog(message.ResponseNonce), slot.LastSentNonce);
            }
        }

        var first = slot.State.Requests == 0;
        Update(slot, first && request.InitialVersionCount > 0
            ? Resume(request, slot, type)
            : slot.State.ApplyDeltaRequest(message.ResourceNamesSubscribe, message.ResourceNamesUnsubscribe), stale);
    }

    /// <summary>
    /// The state of a stream's first request of a type that lists what the client holds (a reconnect). Against the set
    /// in force, when the cache says which: a client up to date is recognised by the digest of its versions, read
    /// without parsing them (the set's side is computed once per subscription); otherwise the versions are parsed and
    /// only those that differ from the set are kept. A cache that does not say gets the versions as they are.
    /// </summary>
    private ClientState Resume(DeltaRequest request, TypeSlot slot, ResourceType type)
    {
        var message = request.Message;
        var subscribe = message.ResourceNamesSubscribe;
        var unsubscribe = message.ResourceNamesUnsubscribe;
        ResourceSet? current;
        try
        {
            slot.Answers!.TryGetCurrent(out current);
        }
        catch (Exception e)
        {
            throw Core.CacheFailed(StreamId, nameof(IChangeRegistration.TryGetCurrent), type.TypeUrl, e);
        }

        if (current is not null)
        {
            // Equal digests: the client listed exactly the set's own names and versions, so the names need no check.
            if (request.InitialVersions is { } wire && slot.State.TryResumeDelta(subscribe, unsubscribe, wire.Digest, current) is { } resumed)
            {
                Core.CountResume(byDigest: true);
                return resumed;
            }

            ParseVersions(request, type);
            Core.CountResume(byDigest: false);
            return slot.State.ResumeDelta(subscribe, unsubscribe, message.InitialResourceVersions, current);
        }

        ParseVersions(request, type);
        return slot.State.ApplyDeltaRequest(subscribe, unsubscribe, message.InitialResourceVersions);
    }

    private void ParseVersions(DeltaRequest request, ResourceType type)
    {
        if (request.InitialVersions is null)
        {
            return; // parsed (and checked) already
        }

        request.Materialize();
        Core.ValidateNames(type.TypeUrl, [.. request.Message.InitialResourceVersions.Keys], 0);
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
