using System.Globalization;
using System.Net;
using System.Text;
using MeshHost.Push;
using XdsServer.Ca;
using XdsServer.Discovery;

namespace MeshHost.Hosting;

/// <summary>
/// <c>GET /</c> on the HTTP port: one server-rendered page (no script) summing up the mesh for an operator — the
/// discovery sources, the connected proxies with their pushes, the last push, the Istio objects reported bad and the
/// CA root. Like the debug endpoints it tells who runs what where, so it answers callers on this machine only
/// (<see cref="DebugEndpoints.IsAllowed"/>); everything shown is HTML-encoded, node ids and object names included
/// (they come from clients and manifests).
/// </summary>
public static class StatusPage
{
    /// <summary>Maps <c>GET /</c>.</summary>
    /// <param name="endpoints">The host's endpoints.</param>
    public static IEndpointConventionBuilder MapStatusPage(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGet("/", (HttpContext http, MeshPublisher publisher, ServiceRegistry registry, RotatingCertificateAuthority? authority) =>
            DebugEndpoints.IsAllowed(http)
                ? Results.Content(Render(publisher, registry, authority, TimeProvider.System.GetUtcNow()), "text/html; charset=utf-8")
                : Results.Text("the status page answers callers on this machine only (loopback)\n", "text/plain", statusCode: StatusCodes.Status403Forbidden));
    }

    /// <summary>The page's HTML.</summary>
    public static string Render(MeshPublisher publisher, ServiceRegistry registry, RotatingCertificateAuthority? authority, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(registry);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MeshHost status</title>")
            .Append("<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}")
            .Append("td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}</style></head><body>")
            .Append("<h1>MeshHost</h1>");

        html.Append("<h2>Discovery</h2><table><tr><th>source</th><th>ready</th><th>healthy</th><th>message</th><th>since</th></tr>");
        foreach (var source in registry.Sources)
        {
            Row(html, source.Name, YesNo(source.Ready), YesNo(source.Healthy), source.Message, Time(source.Since));
        }
        html.Append("</table>");
        html.Append("<p>Registry generation ").Append(E(registry.Current.Generation.ToString(CultureInfo.InvariantCulture)))
            .Append(", ").Append(E(registry.Current.Services.Count().ToString(CultureInfo.InvariantCulture))).Append(" services.</p>");

        var proxies = publisher.Proxies;
        html.Append("<h2>Proxies (").Append(proxies.Count.ToString(CultureInfo.InvariantCulture))
            .Append(")</h2><table><tr><th>node id</th><th>type</th><th>namespace</th><th>streams</th><th>pushes</th><th>skipped</th></tr>");
        foreach (var p in proxies)
        {
            Row(html, p.Proxy.NodeId, p.Proxy.IsProxylessGrpc ? "proxyless gRPC" : p.Proxy.Type.ToString().ToLowerInvariant(), p.Proxy.Namespace,
                p.Streams.ToString(CultureInfo.InvariantCulture), p.Pushes.ToString(CultureInfo.InvariantCulture), p.Skipped.ToString(CultureInfo.InvariantCulture));
        }
        html.Append("</table>");

        var status = publisher.Status;
        html.Append("<h2>Pushes</h2><p>").Append(status.Pushes.ToString(CultureInfo.InvariantCulture)).Append(" pushes, ")
            .Append(status.ProxiesPushed.ToString(CultureInfo.InvariantCulture)).Append(" proxy configurations generated, ")
            .Append(status.ProxiesSkipped.ToString(CultureInfo.InvariantCulture)).Append(" proxies left alone.");
        if (status.Last is { } last)
        {
            html.Append(" Last: ").Append(E(last.Reason)).Append(", ").Append(last.ChangedKeys.ToString(CultureInfo.InvariantCulture))
                .Append(" changed objects, ").Append(last.ProxiesPushed.ToString(CultureInfo.InvariantCulture)).Append(" pushed, ")
                .Append(last.ProxiesSkipped.ToString(CultureInfo.InvariantCulture)).Append(" skipped, ")
                .Append(last.DurationMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)).Append(" ms, at ").Append(E(Time(last.At))).Append('.');
        }
        html.Append("</p>");

        var problems = publisher.Problems;
        html.Append("<h2>Problems (").Append(problems.Count.ToString(CultureInfo.InvariantCulture))
            .Append(")</h2><table><tr><th>kind</th><th>namespace</th><th>name</th><th>reason</th></tr>");
        foreach (var problem in problems)
        {
            Row(html, problem.Key.Kind, problem.Key.Namespace, problem.Key.Name, problem.Reason);
        }
        html.Append("</table>");

        if (authority is not null)
        {
            var root = authority.Current.RootCertificate;
            html.Append("<h2>Certificate authority</h2><p>Root ").Append(E(root.Subject)).Append(", valid until ")
                .Append(E(Time(root.NotAfter.ToUniversalTime()))).Append(" (")
                .Append(((new DateTimeOffset(root.NotAfter.ToUniversalTime()) - now).TotalDays).ToString("0", CultureInfo.InvariantCulture))
                .Append(" days).</p>");
        }

        html.Append("<p>JSON: <a href=\"/debug/proxies\">/debug/proxies</a>, <a href=\"/debug/problems\">/debug/problems</a>, ")
            .Append("<a href=\"/debug/push_status\">/debug/push_status</a>, <code>/debug/config_dump?proxy=&lt;node id&gt;</code>.</p>")
            .Append("</body></html>");
        return html.ToString();
    }

    private static void Row(StringBuilder html, params string[] cells)
    {
        html.Append("<tr>");
        foreach (var cell in cells)
        {
            html.Append("<td>").Append(E(cell)).Append("</td>");
        }
        html.Append("</tr>");
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string Time(DateTimeOffset at) => at.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Time(DateTime at) => at.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
