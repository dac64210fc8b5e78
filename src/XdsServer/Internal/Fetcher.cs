using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>One-off fetches: the gRPC <c>Fetch*</c> methods and the REST-JSON endpoints.</summary>
internal static class Fetcher
{
    /// <summary>The REST path segment of each type (<c>POST /v3/discovery:&lt;segment&gt;</c>).</summary>
    public static readonly IReadOnlyDictionary<string, string> RestTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["listeners"] = TypeUrls.Listener,
        ["routes"] = TypeUrls.RouteConfiguration,
        ["scoped-routes"] = TypeUrls.ScopedRouteConfiguration,
        ["clusters"] = TypeUrls.Cluster,
        ["endpoints"] = TypeUrls.ClusterLoadAssignment,
        ["secrets"] = TypeUrls.Secret,
        ["runtime"] = TypeUrls.Runtime,
        ["extension_configs"] = TypeUrls.ExtensionConfig,
    };

    /// <summary>gRPC fetch: the current resources (a fetch whose version is current gets them again, since a
    /// unary gRPC call has no "not modified"; the client sees the same version and changes nothing).</summary>
    public static async Task<DiscoveryResponse> FetchAsync(XdsServerCore core, string typeUrl, DiscoveryRequest request,
        ServerCallContext call)
    {
        var context = new XdsStreamContext(core.NextStreamId(), XdsProtocol.Rest, typeUrl, call, null);
        var (result, response) = await FetchCoreAsync(core, context, typeUrl, request, honorVersion: false, call.CancellationToken)
            .ConfigureAwait(false);
        return result.Status == FetchStatus.NotFound
            ? throw XdsServerCore.Fail(StatusCode.NotFound, $"nothing is served yet for node '{request.Node?.Id}' and {typeUrl}")
            : response!;
    }

    /// <summary>Shared by gRPC and REST: validates, authorizes, runs callbacks, asks the cache.</summary>
    public static async Task<(FetchResult Result, DiscoveryResponse? Response)> FetchCoreAsync(XdsServerCore core,
        XdsStreamContext context, string typeUrl, DiscoveryRequest request, bool honorVersion, CancellationToken ct)
    {
        if (request.TypeUrl.Length > 0 && request.TypeUrl != typeUrl)
        {
            throw XdsServerCore.Fail(StatusCode.InvalidArgument, $"type URL '{request.TypeUrl}' sent to the {typeUrl} fetch");
        }

        var type = core.ResolveType(typeUrl);
        if (request.Node is not { Id.Length: > 0 } node)
        {
            throw XdsServerCore.Fail(StatusCode.InvalidArgument, "a fetch must carry a node with an id");
        }

        core.ValidateNames(typeUrl, request.ResourceNames, request.ResourceNames.Count);
        context.Node = node;
        core.RequireConfidentialTransport(type, context);
        if ((await core.AuthorizeAsync(context, node, ct).ConfigureAwait(false)).Refusal is { } refusal)
        {
            XdsLog.NodeRefused(core.Logger, context.StreamId, ClientText.ForLog(node.Id), ClientText.ForLog(refusal));
            throw XdsServerCore.Fail(StatusCode.PermissionDenied, $"node '{ClientText.ForLog(node.Id)}' refused: {refusal}");
        }

        core.Metrics.Requests.Add(1, XdsMetrics.Type(type.ShortName), XdsMetrics.Protocol(XdsProtocol.Rest));
        foreach (var callbacks in core.Callbacks)
        {
            await callbacks.OnRequestAsync(context, request, ct).ConfigureAwait(false);
        }

        core.RequireServed(context.StreamId, typeUrl, node);
        FetchResult result;
        try
        {
            result = core.Cache.Fetch(new FetchRequest(node, typeUrl, [.. request.ResourceNames], honorVersion ? request.VersionInfo : string.Empty));
        }
        catch (Exception e)
        {
            throw core.CacheFailed(context.StreamId, nameof(ICache.Fetch), typeUrl, e);
        }

        XdsLog.Fetched(core.Logger, typeUrl, ClientText.ForLog(node.Id), result.Status.ToString());
        if (result.Status != FetchStatus.Ok)
        {
            return (result, null);
        }

        var response = new DiscoveryResponse { VersionInfo = result.Version, TypeUrl = typeUrl };
        foreach (var resource in result.Resources)
        {
            response.Resources.Add(resource.Packed);
        }

        foreach (var callbacks in core.Callbacks)
        {
            await callbacks.OnResponseAsync(context, response, ct).ConfigureAwait(false);
        }

        core.Metrics.Responses.Add(1, XdsMetrics.Type(type.ShortName), XdsMetrics.Protocol(XdsProtocol.Rest));
        return (result, response);
    }
}
