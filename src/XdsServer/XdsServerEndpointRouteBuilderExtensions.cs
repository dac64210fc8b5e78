using Envoy.Service.Discovery.V3;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using XdsServer;
using XdsServer.Internal;
using XdsServer.Services;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the xDS server's endpoints.</summary>
public static class XdsServerEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps ADS, the per-type discovery services (SotW, delta, fetch), CSDS, and — unless
    /// <see cref="XdsServerOptions.EnableRestFetch"/> is off — the REST fetch endpoints
    /// <c>POST /v3/discovery:{listeners,routes,scoped-routes,clusters,endpoints,secrets,runtime,extension_configs}</c>.
    /// gRPC needs HTTP/2; REST is best served on an HTTP/1.1 endpoint (Kestrel cannot offer both over one
    /// cleartext port).
    /// </summary>
    public static IEndpointConventionBuilder MapXdsServer(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var builders = new List<IEndpointConventionBuilder>
        {
            endpoints.MapGrpcService<AggregatedDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<ListenerDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<RouteDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<ScopedRoutesDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<VirtualHostDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<ClusterDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<EndpointDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<SecretDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<RuntimeDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<ExtensionConfigDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<ClientStatusServiceImpl>(),
        };

        if (endpoints.ServiceProvider.GetRequiredService<IOptions<XdsServerOptions>>().Value.EnableRestFetch)
        {
            builders.Add(endpoints.MapPost("/v3/discovery:{type}", RestFetchAsync));
        }

        return new CompositeConventionBuilder(builders);
    }

    private static async Task RestFetchAsync(HttpContext http, string type)
    {
        if (!Fetcher.RestTypes.TryGetValue(type, out var typeUrl))
        {
            await Problem(http, StatusCodes.Status404NotFound,
                $"unknown discovery type '{type}'; use one of {string.Join(", ", Fetcher.RestTypes.Keys)}").ConfigureAwait(false);
            return;
        }

        DiscoveryRequest request;
        try
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
            request = ApiTypes.Parser.Parse<DiscoveryRequest>(body);
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidJsonException or Google.Protobuf.InvalidProtocolBufferException or FormatException)
        {
            await Problem(http, StatusCodes.Status400BadRequest, $"the body is not a DiscoveryRequest in proto3 JSON: {e.Message}")
                .ConfigureAwait(false);
            return;
        }

        var core = http.RequestServices.GetRequiredService<XdsServerCore>();
        var context = new XdsStreamContext(core.NextStreamId(), XdsProtocol.Rest, typeUrl, null, http);
        try
        {
            var (result, response) = await Fetcher.FetchCoreAsync(core, context, typeUrl, request, honorVersion: true, http.RequestAborted)
                .ConfigureAwait(false);
            switch (result.Status)
            {
                case XdsServer.Cache.FetchStatus.NotModified:
                    http.Response.StatusCode = StatusCodes.Status304NotModified;
                    return;
                case XdsServer.Cache.FetchStatus.NotFound:
                    await Problem(http, StatusCodes.Status404NotFound, $"nothing is served yet for node '{request.Node?.Id}' and {typeUrl}")
                        .ConfigureAwait(false);
                    return;
                default:
                    http.Response.ContentType = "application/json";
                    await http.Response.WriteAsync(ApiTypes.Formatter.Format(response), http.RequestAborted).ConfigureAwait(false);
                    return;
            }
        }
        catch (Grpc.Core.RpcException e)
        {
            var status = e.StatusCode switch
            {
                Grpc.Core.StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
                Grpc.Core.StatusCode.ResourceExhausted => StatusCodes.Status413PayloadTooLarge,
                _ => StatusCodes.Status400BadRequest,
            };
            await Problem(http, status, e.Status.Detail).ConfigureAwait(false);
        }
    }

    private static Task Problem(HttpContext http, int status, string detail)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync(detail + "\n", http.RequestAborted);
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }
    }
}
