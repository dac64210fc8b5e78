using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using XdsServer;
using XdsServer.Discovery;
using XdsServer.Internal;
using XdsServer.Operations;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Maps the xDS server's operator surface on a host's HTTP endpoints: the status page (<see cref="MapXdsStatusPage"/>)
/// and the JSON debug endpoints (<see cref="MapXdsDebug"/>). Like CSDS they tell who runs what where, so each answers
/// only the callers its authorization hook allows (loopback callers by default) and sends 403 with the reason, and
/// nothing else, to the rest.
/// </summary>
public static class XdsOperatorEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET /</c>: an HTML status page of the connected proxies (node id, cluster, namespace, connected since;
    /// per type the version sent, the version ACKed, the last NACK with its error, and SYNCED / STALE / NOT SENT),
    /// push latency and push rate over time (a chart drawn by a small inline script; the tables need no script), the
    /// discovery sources when a <see cref="ServiceRegistry"/> is registered, and every registered
    /// <see cref="IXdsStatusSection"/>. The push history is gathered from the moment this is called, in a fixed number
    /// of buckets (<see cref="XdsStatusPageOptions.PushHistoryLength"/>).
    /// </summary>
    /// <param name="endpoints">The endpoint route builder of a host that called <c>AddXdsServer</c>.</param>
    /// <param name="configure">Changes the caller check, the title and the history's size.</param>
    /// <returns>A builder for endpoint conventions.</returns>
    public static IEndpointConventionBuilder MapXdsStatusPage(this IEndpointRouteBuilder endpoints, Action<XdsStatusPageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = new XdsStatusPageOptions();
        configure?.Invoke(options);
        options.Validate();
        var services = endpoints.ServiceProvider;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var history = new PushHistory(options.PushHistoryInterval, options.PushHistoryLength, time,
            services.GetService<System.Diagnostics.Metrics.IMeterFactory>());
        if (services.GetService<OperatorResources>() is { } owner)
        {
            owner.Own(history); // disposed with the container, started or not
        }
        else
        {
            services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(history.Dispose);
        }

        var renderer = new StatusPageRenderer(options, history);

        return endpoints.MapGet("/", async (HttpContext http) =>
        {
            if (await RefuseAsync(http, options.Authorize).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            var request = http.RequestServices;
            var registry = request.GetRequiredService<StreamRegistry>();
            var page = await renderer.RenderAsync(
                ProxySync.From(registry.GetStreams()),
                request.GetService<ServiceRegistry>(),
                request.GetServices<IXdsStatusSection>(),
                Links(request),
                time.GetUtcNow(),
                http.RequestAborted).ConfigureAwait(false);
            http.Response.Headers.ContentSecurityPolicy = StatusPageScript.Policy;
            NoStore(http);
            return Results.Content(page, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
    }

    /// <summary>
    /// Maps the JSON debug endpoints: <c>GET /debug/syncz</c> (the CSDS view: per proxy and type the version and nonce
    /// sent, the version ACKed, the last NACK, and SYNCED / NOT SENT / STALE as <c>istioctl proxy-status</c> defines
    /// them) and <c>GET /debug/config_dump?proxyID=&lt;node id&gt;</c> (what the proxy was sent, in the shape of Envoy's
    /// admin config dump; secrets by name only, fields the API marks sensitive removed). 400 without
    /// <c>proxyID</c>, 404 for a node that is not connected.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder of a host that called <c>AddXdsServer</c>.</param>
    /// <param name="configure">Changes the caller check.</param>
    /// <returns>A builder for conventions on both endpoints.</returns>
    public static IEndpointConventionBuilder MapXdsDebug(this IEndpointRouteBuilder endpoints, Action<XdsDebugOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = new XdsDebugOptions();
        configure?.Invoke(options);
        options.Validate();
        var time = endpoints.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
        var group = endpoints.MapGroup("/debug");
        group.MapGet("/syncz", async (HttpContext http) =>
        {
            if (await RefuseAsync(http, options.Authorize).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            var registry = http.RequestServices.GetRequiredService<StreamRegistry>();
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                SynczWriter.Write(json, ProxySync.From(registry.GetStreams()), time.GetUtcNow());
            }

            NoStore(http);
            return Results.Text(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), "application/json", Encoding.UTF8);
        }).WithMetadata(new XdsDebugEndpointMetadata("syncz")).ExcludeFromDescription();
        group.MapGet("/config_dump", async (HttpContext http) =>
        {
            if (await RefuseAsync(http, options.Authorize).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            NoStore(http);
            var proxyId = http.Request.Query["proxyID"].ToString();
            if (proxyId.Length == 0)
            {
                return Results.Text("name the proxy: /debug/config_dump?proxyID=<node id> (see /debug/syncz)\n", "text/plain", Encoding.UTF8,
                    StatusCodes.Status400BadRequest);
            }

            var core = http.RequestServices.GetRequiredService<XdsServerCore>();
            var streams = core.Registry.Sources
                .Where(s => s.CurrentNode?.Id == proxyId)
                .Select(s => (Source: s, Status: s.GetStatus()))
                .Where(s => s.Status is not null)
                .OrderBy(s => s.Status!.StreamId)
                .ToList();
            var proxy = ProxySync.From([.. streams.Select(s => s.Status!)]);
            if (proxy.Count == 0)
            {
                return Results.Text($"no proxy with node id '{ClientText.ForLog(proxyId, 256)}' is connected (see /debug/syncz)\n", "text/plain",
                    Encoding.UTF8, StatusCodes.Status404NotFound);
            }

            // Oldest stream first: a newer stream's view of a resource wins.
            var configs = streams.Select(s => s.Source.GetClientConfig()).OfType<Envoy.Service.Status.V3.ClientConfig>();
            return Results.Text(ConfigDumpWriter.Write(configs, proxy[0], core.Types), "application/json", Encoding.UTF8);
        }).WithMetadata(new XdsDebugEndpointMetadata("config_dump")).ExcludeFromDescription();
        return group;
    }

    /// <summary>Runs the authorization hook; a refusal is 403 with its reason as plain text, and nothing else.</summary>
    private static async ValueTask<IResult?> RefuseAsync(HttpContext http, Func<HttpContext, CancellationToken, ValueTask<string?>> authorize)
    {
        if (await authorize(http, http.RequestAborted).ConfigureAwait(false) is not { } reason)
        {
            return null;
        }

        NoStore(http);
        return Results.Text(reason + "\n", "text/plain", Encoding.UTF8, StatusCodes.Status403Forbidden);
    }

    private static void NoStore(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.XContentTypeOptions = "nosniff";
    }

    /// <summary>The paths of the debug endpoints this host maps (found by their metadata), for the page's links.</summary>
    private static OperatorLinks Links(IServiceProvider services)
    {
        string? syncz = null, dump = null;
        if (services.GetService<EndpointDataSource>() is { } source)
        {
            foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
            {
                if (endpoint.Metadata.GetMetadata<XdsDebugEndpointMetadata>() is { } debug && Path(endpoint.RoutePattern) is { } path)
                {
                    if (debug.Kind == "syncz")
                    {
                        syncz = path;
                    }
                    else
                    {
                        dump = path;
                    }
                }
            }
        }

        return new OperatorLinks(syncz, dump);
    }

    private static string? Path(RoutePattern pattern) =>
        pattern.Parameters.Count == 0 && pattern.RawText is { } raw && XdsStatusSectionWriter.IsLocalPath("/" + raw.TrimStart('/'))
            ? "/" + raw.TrimStart('/')
            : null;
}
