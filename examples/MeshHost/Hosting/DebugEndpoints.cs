using System.Text;
using System.Text.Json;
using Google.Protobuf;
using MeshHost.Push;
using XdsServer;
using XdsServer.Cache;

namespace MeshHost.Hosting;

/// <summary>
/// The operator's view of the mesh (istiod's <c>/debug/*</c>, reduced): <c>/debug/problems</c> (the Istio objects
/// the generator could not use, and why), <c>/debug/proxies</c> (who is connected), the library's
/// <c>/debug/syncz</c> and <c>/debug/config_dump?proxyID=&lt;node id&gt;</c> (what each proxy was sent and ACKed,
/// in Envoy's config dump shape), <c>/debug/config_dump?proxy=&lt;node id&gt;</c> (what the mesh generated for one
/// proxy, as proto3 JSON), <c>/debug/registryz</c> and <c>/debug/configz</c> (<see cref="RegistryEndpoints"/>). They
/// tell who runs what where, so only callers on this machine may read them (<see cref="IsAllowed"/>); others get 403.
/// </summary>
public static class DebugEndpoints
{
    private static readonly Lazy<JsonFormatter> Formatter = new(() => new JsonFormatter(JsonFormatter.Settings.Default
        .WithTypeRegistry(EnvoyApiTypes.Registry).WithIndentation()));

    /// <summary>Whether a caller may read the debug endpoints: only a local one, both ends of the connection on
    /// loopback or a Unix domain socket (<see cref="TransportSecurity.IsLoopback"/>: the local end proves it, which
    /// forwarded headers cannot rewrite). Behind a reverse proxy on this machine every caller looks local: do not
    /// expose the HTTP port through one.</summary>
    /// <param name="context">The request.</param>
    public static bool IsAllowed(HttpContext context) => TransportSecurity.IsLoopback(context);

    /// <summary>The answer to a caller <see cref="IsAllowed"/> refuses: 403 with the reason, and nothing else.</summary>
    public static IResult Refused() =>
        Results.Text("the debug endpoints answer callers on this machine only (loopback)\n", "text/plain", statusCode: StatusCodes.Status403Forbidden);

    /// <summary>Marks an answer as the library's operator endpoints do: never cached (it holds live state), never
    /// sniffed as another content type.</summary>
    /// <param name="context">The request.</param>
    public static void NoStore(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.XContentTypeOptions = "nosniff";
    }

    /// <summary>The filter of every MeshHost debug endpoint: <see cref="NoStore"/> headers on every answer, and
    /// <see cref="Refused"/> for a caller <see cref="IsAllowed"/> refuses.</summary>
    /// <param name="context">The invocation.</param>
    /// <param name="next">The endpoint.</param>
    public static async ValueTask<object?> LocalOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        NoStore(context.HttpContext);
        return IsAllowed(context.HttpContext) ? await next(context).ConfigureAwait(false) : Refused();
    }

    /// <summary>Maps <c>/debug/problems</c>, <c>/debug/proxies</c>, <c>/debug/syncz</c>, <c>/debug/config_dump</c>,
    /// <c>/debug/registryz</c> and <c>/debug/configz</c>.</summary>
    /// <param name="endpoints">The host's endpoints.</param>
    /// <returns>The group's builder.</returns>
    public static RouteGroupBuilder MapMeshDebug(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/debug");
        group.AddEndpointFilter(LocalOnly);
        group.MapGet("/problems", (MeshPublisher publisher) => Results.Json(publisher.Problems.Select(p => new
        {
            kind = p.Key.Kind,
            @namespace = p.Key.Namespace,
            name = p.Key.Name,
            reason = p.Reason,
        })));
        group.MapGet("/proxies", (MeshPublisher publisher) => Results.Json(publisher.Proxies.Select(p => new
        {
            nodeId = p.Proxy.NodeId,
            type = p.Proxy.Type.ToString().ToLowerInvariant(),
            @namespace = p.Proxy.Namespace,
            pod = p.Proxy.PodName,
            ips = p.Proxy.IpAddresses,
            serviceAccount = p.Proxy.ServiceAccount,
            labels = p.Proxy.Labels,
            istioVersion = p.Proxy.IstioVersion,
            generator = p.Proxy.Generator,
            streams = p.Streams,
            generation = p.Generation,
        })));
        endpoints.MapRegistryDebug();

        // The library's /debug/syncz and /debug/config_dump?proxyID= (what each proxy was sent, Envoy's config dump
        // shape); /debug/config_dump?proxy= keeps answering with what the mesh generated for the proxy (its snapshot).
        endpoints.MapXdsDebug().AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            NoStore(http);
            if (!IsAllowed(http))
            {
                return Refused();
            }

            if (!http.Request.Path.Equals("/debug/config_dump", StringComparison.Ordinal) || http.Request.Query.ContainsKey("proxyID")
                || !http.Request.Query.ContainsKey("proxy"))
            {
                return await next(context).ConfigureAwait(false);
            }

            var proxy = http.Request.Query["proxy"].ToString();
            if (proxy.Length == 0)
            {
                return Results.Text("name the proxy: /debug/config_dump?proxyID=<node id> (see /debug/syncz)\n", "text/plain",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            return http.RequestServices.GetRequiredService<SnapshotCache>().TryGetSnapshot(proxy, out var snapshot)
                ? Results.Text(ConfigDump(proxy, snapshot), "application/json")
                : Results.Text($"no configuration for proxy '{ClientText.ForLog(proxy, 256)}': it is not connected, or nothing was generated for it yet\n",
                    "text/plain", statusCode: StatusCodes.Status404NotFound);
        });
        return group;
    }

    /// <summary>A proxy's snapshot as JSON: <c>{"proxy": id, "resources": {typeUrl: {"version": v, "items": [...]}}}</c>,
    /// each item in proto3 JSON. A sensitive type (secrets) is listed by name only; mesh snapshots hold none.</summary>
    /// <param name="nodeId">The proxy's node id.</param>
    /// <param name="snapshot">Its snapshot.</param>
    public static string ConfigDump(string nodeId, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        ArgumentNullException.ThrowIfNull(snapshot);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("proxy", nodeId);
            json.WriteStartObject("resources");
            foreach (var set in snapshot.ResourceSets.OrderBy(s => s.Type.AdsOrder))
            {
                json.WriteStartObject(set.TypeUrl);
                json.WriteString("version", set.Version);
                json.WriteStartArray("items");
                foreach (var resource in set.Sorted)
                {
                    if (set.Type.Sensitive)
                    {
                        json.WriteStartObject();
                        json.WriteString("name", resource.Name);
                        json.WriteString("redacted", "sensitive type: the payload is never shown");
                        json.WriteEndObject();
                    }
                    else
                    {
                        json.WriteRawValue(Formatter.Value.Format(resource.Message), skipInputValidation: true);
                    }
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
