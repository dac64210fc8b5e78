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
        Core.ValidateNames(type.TypeUrl, [], request.SubscribeCount + message.ResourceNamesUnsubscribe.Count + request.InitialVersionCount);

        // Names and versions kept as bytes stay so only for a stream's first request of a type that lists versions (a
        // reconnect), and only without request callbacks, which see the whole request. Everything else is parsed and
        // checked here, before anything acts on the request.
        var mayResume = request.PendingVersions is not null && !HasSlot(type.TypeUrl) && message.ResourceNamesUnsubscribe.Count == 0
            && Core.RequestCallbacks.Count == 0;
        if (!mayResume)
        {
            ParseNames(request, type);
        }

        Core.ValidateNames(type.TypeUrl, message.ResourceNamesUnsubscribe, 0);
        if (!mayResume)
        {
            ParseVersions(request, type);
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
    /// in force, when the cache says which: a client up to date is recognised by the digests of its names and versions,
    /// read without parsing them, when an earlier stream resumed with the same names against the same set (the set's
    /// side is computed once per subscription); else by the digest of its versions once its names are parsed; a client
    /// that is behind has its versions parsed and only those that differ from the set kept. A cache that does not say
    /// gets the versions as they are.
    /// </summary>
    private ClientState Resume(DeltaRequest request, TypeSlot slot, ResourceType type)
    {
        var message = request.Message;
        ResourceSet? current;
        try
        {
            slot.Answers!.TryGetCurrent(out current);
        }
        catch (Exception e)
        {
            throw Core.CacheFailed(StreamId, nameof(IChangeRegistration.TryGetCurrent), type.TypeUrl, e);
        }

        if (current is null)
        {
            ParseNamesIfKept(request, type);
            ParseVersionsIfKept(request, type);
            return slot.State.ApplyDeltaRequest(message.ResourceNamesSubscribe, message.ResourceNamesUnsubscribe, message.InitialResourceVersions);
        }

        // Equal digests: the client listed the names an earlier, checked request listed, and exactly the set's own
        // names and versions, so neither needs a check.
        if (request is { PendingNames: { } names, PendingVersions: { } versions }
            && slot.State.TryResumeDelta(names, versions, current) is { } byNames)
        {
            Core.CountResume(ResumedBy.Names);
            return byNames;
        }

        ParseNamesIfKept(request, type);
        var subscribe = message.ResourceNamesSubscribe;
        var unsubscribe = message.ResourceNamesUnsubscribe;
        if (request.PendingVersions is { } held && slot.State.TryResumeDelta(subscribe, unsubscribe, held, current) is { } resumed)
        {
            Core.CountResume(ResumedBy.Digest);
            return resumed;
        }

        ParseVersionsIfKept(request, type);
        Core.CountResume(ResumedBy.Versions);
        return slot.State.ResumeDelta(subscribe, unsubscribe, message.InitialResourceVersions, current);
    }

    private void ParseNamesIfKept(DeltaRequest request, ResourceType type)
    {
        if (request.PendingNames is not null)
        {
            ParseNames(request, type);
        }
    }

    private void ParseVersionsIfKept(DeltaRequest request, ResourceType type)
    {
        if (request.PendingVersions is not null)
        {
            ParseVersions(request, type);
        }
    }

    /// <summary>Parses the subscribed names if they were kept as bytes, and checks them.</summary>
    private void ParseNames(DeltaRequest request, ResourceType type)
    {
        request.MaterializeNames();
        Core.ValidateNames(type.TypeUrl, request.Message.ResourceNamesSubscribe, 0);
    }

    /// <summary>Parses the held versions if they were kept as bytes, and checks their names.</summary>
    private void ParseVersions(DeltaRequest request, ResourceType type)
    {
        request.MaterializeVersions();
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
