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
    /// Maps ADS, the per-type discovery services (SotW, delta, fetch) and — unless
    /// <see cref="XdsServerOptions.EnableRestFetch"/> is off — the REST fetch endpoints
    /// <c>POST /v3/discovery:{listeners,routes,scoped-routes,clusters,endpoints,secrets,runtime,extension_configs}</c>.
    /// gRPC needs HTTP/2; REST is best served on an HTTP/1.1 endpoint (Kestrel cannot offer both over one
    /// cleartext port). CSDS, an operator API, is not mapped here: see <see cref="MapClientStatus"/>.
    /// </summary>
    public static IEndpointConventionBuilder MapXdsServer(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var builders = new List<IEndpointConventionBuilder>
        {
            endpoints.MapGrpcService<DiscoveryService>(),
        };

        if (endpoints.ServiceProvider.GetRequiredService<IOptions<XdsServerOptions>>().Value.EnableRestFetch)
        {
            builders.Add(endpoints.MapPost("/v3/discovery:{type}", RestFetchAsync));
        }

        return new CompositeConventionBuilder(builders);
    }

    /// <summary>
    /// Maps CSDS (<c>envoy.service.status.v3.ClientStatusDiscoveryService</c>: what each connected proxy was sent and
    /// whether it ACKed it), an operator API that is off unless mapped. Callers are checked by
    /// <see cref="ClientStatusOptions.Authorize"/> (default: loopback callers only); add an ASP.NET Core policy with
    /// the returned builder (<c>.RequireAuthorization(...)</c>, <c>.RequireHost(...)</c>) as well if you like.
    /// Sensitive resources are reported without their payload.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder of a host that called <c>AddXdsServer</c>.</param>
    /// <param name="configure">Changes the caller check and the bounds.</param>
    /// <returns>A builder for endpoint conventions.</returns>
    public static IEndpointConventionBuilder MapClientStatus(this IEndpointRouteBuilder endpoints, Action<ClientStatusOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<ClientStatusOptions>();
        configure?.Invoke(options);
        options.Validate();
        return endpoints.MapGrpcService<ClientStatusServiceImpl>();
    }

    private static async Task RestFetchAsync(HttpContext http, string type)
    {
        if (!Fetcher.RestTypes.TryGetValue(type, out var typeUrl))
        {
            await Problem(http, StatusCodes.Status404NotFound,
                $"unknown discovery type '{type}'; use one of {string.Join(", ", Fetcher.RestTypes.Keys)}").ConfigureAwait(false);
            return;
        }

        var core = http.RequestServices.GetRequiredService<XdsServerCore>();
        var limit = core.Options.MaxRequestBytes;
        if (await ReadBodyAsync(http, limit).ConfigureAwait(false) is not { } body)
        {
            await Problem(http, StatusCodes.Status413PayloadTooLarge,
                $"the request body is larger than {limit} bytes (XdsServerOptions.MaxRequestBytes)").ConfigureAwait(false);
            return;
        }

        DiscoveryRequest request;
        try
        {
            request = EnvoyApiTypes.Parser.Parse<DiscoveryRequest>(body);
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidJsonException or Google.Protobuf.InvalidProtocolBufferException or FormatException)
        {
            await Problem(http, StatusCodes.Status400BadRequest, $"the body is not a DiscoveryRequest in proto3 JSON: {e.Message}")
                .ConfigureAwait(false);
            return;
        }

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
                    await http.Response.WriteAsync(EnvoyApiTypes.Formatter.Format(response), http.RequestAborted).ConfigureAwait(false);
                    return;
            }
        }
        catch (Grpc.Core.RpcException e)
        {
            var status = e.StatusCode switch
            {
                Grpc.Core.StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
                Grpc.Core.StatusCode.ResourceExhausted => StatusCodes.Status413PayloadTooLarge,
                Grpc.Core.StatusCode.Internal => StatusCodes.Status500InternalServerError, // a server fault, logged
                _ => StatusCodes.Status400BadRequest,
            };
            await Problem(http, status, e.Status.Detail).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the body as UTF-8 text, or returns null as soon as it is known to exceed
    /// <paramref name="limit"/> bytes (from Content-Length, or while reading a chunked body).</summary>
    private static async Task<string?> ReadBodyAsync(HttpContext http, int limit)
    {
        if (http.Request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
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
