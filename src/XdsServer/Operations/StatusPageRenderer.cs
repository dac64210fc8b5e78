using System.Globalization;
using System.Text;
using System.Text.Json;
using XdsServer.Discovery;

namespace XdsServer.Operations;

/// <summary>
/// Renders the status page: the connected proxies and their per-type sync state, the push history (a chart drawn by a
/// small inline script from data embedded in the page, with the same numbers in a table), the discovery sources when
/// a <see cref="ServiceRegistry"/> is registered, and the sections hosts and libraries add
/// (<see cref="IXdsStatusSection"/>). Server-rendered: every table is plain HTML that needs no script. Every text is
/// HTML-encoded.
/// </summary>
internal sealed class StatusPageRenderer(XdsStatusPageOptions options, PushHistory history)
{
    /// <summary>The xDS types in the order a proxy receives them over ADS, with the names operators use.</summary>
    private static readonly (string ShortName, string Column)[] TypeColumns =
    [
        ("Cluster", "CDS"), ("ClusterLoadAssignment", "EDS"), ("Listener", "LDS"), ("RouteConfiguration", "RDS"),
        ("ScopedRouteConfiguration", "SRDS"), ("VirtualHost", "VHDS"), ("Secret", "SDS"), ("TypedExtensionConfig", "ECDS"),
        ("Runtime", "RTDS"),
    ];

    public async Task<string> RenderAsync(IReadOnlyList<ProxySync> proxies, ServiceRegistry? registry, IEnumerable<IXdsStatusSection> sections,
        OperatorLinks links, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var html = new StringBuilder(16 * 1024);
        var title = E(options.Title);
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(title).Append(" status</title><style>").Append(StatusPageScript.Style).Append("</style></head><body>")
            .Append("<header><h1>").Append(title).Append("</h1><p class=\"meta\">Generated ").Append(E(Time(now)))
            .Append(". ").Append(Count(proxies.Count)).Append(" proxies, ").Append(Count(proxies.Sum(p => p.Streams.Count)))
            .Append(" open streams.");
        if (links.Syncz is { } syncz)
        {
            html.Append(" JSON: <a href=\"").Append(E(syncz)).Append("\">").Append(E(syncz)).Append("</a>");
            if (links.ConfigDump is { } dump)
            {
                html.Append(", <code>").Append(E(dump)).Append("?proxyID=&lt;node id&gt;</code>");
            }

            html.Append('.');
        }

        html.Append("</p></header>");
        WriteProxies(html, proxies, links);
        WritePushes(html, now);
        if (registry is not null)
        {
            WriteDiscovery(html, registry);
        }

        foreach (var section in sections)
        {
            html.Append("<section class=\"extra\"><h2>").Append(E(section.Title)).Append("</h2>");
            var body = new StringBuilder();
            try
            {
                await section.WriteAsync(new XdsStatusSectionWriter(body, options.MaxTableRows), cancellationToken).ConfigureAwait(false);
                html.Append(body);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                html.Append("<p class=\"warn\">This section failed: ").Append(E(e.GetType().Name)).Append(": ").Append(E(e.Message)).Append("</p>");
            }

            html.Append("</section>");
        }

        html.Append("<script id=\"push-chart-script\">").Append(StatusPageScript.Chart).Append("</script></body></html>");
        return html.ToString();
    }

    private void WriteProxies(StringBuilder html, IReadOnlyList<ProxySync> proxies, OperatorLinks links)
    {
        var present = proxies.SelectMany(p => p.Types).Select(t => ProxySync.ShortName(t.TypeUrl)).ToHashSet(StringComparer.Ordinal);
        var columns = TypeColumns.Where(c => present.Contains(c.ShortName)).ToList();
        var known = TypeColumns.Select(c => c.ShortName).ToHashSet(StringComparer.Ordinal);
        columns.AddRange(present.Where(p => !known.Contains(p)).Order(StringComparer.Ordinal).Select(p => (p, p)));

        html.Append("<section id=\"proxies\"><h2>Proxies (").Append(Count(proxies.Count)).Append(")</h2>");
        if (proxies.Count == 0)
        {
            html.Append("<p class=\"note\">No proxy is connected.</p></section>");
            return;
        }

        html.Append("<table id=\"proxy-table\"><thead><tr><th>node id</th><th>cluster</th><th>namespace</th><th>connected since</th><th>streams</th>");
        foreach (var (_, column) in columns)
        {
            html.Append("<th>").Append(E(column)).Append("</th>");
        }

        html.Append("</tr></thead><tbody>");
        foreach (var proxy in proxies.Take(options.MaxTableRows))
        {
            html.Append("<tr data-node=\"").Append(E(proxy.NodeId)).Append("\"><td class=\"id\">");
            if (links.ConfigDump is { } dump)
            {
                html.Append("<a href=\"").Append(E(dump + "?proxyID=" + Uri.EscapeDataString(proxy.NodeId))).Append("\">")
                    .Append(E(proxy.NodeId)).Append("</a>");
            }
            else
            {
                html.Append(E(proxy.NodeId));
            }

            html.Append("</td><td>").Append(E(proxy.Node.Cluster)).Append("</td><td>").Append(E(proxy.Namespace ?? "")).Append("</td><td>")
                .Append(E(Time(proxy.ConnectedSince))).Append("</td><td>")
                .Append(E(string.Join(", ", proxy.Streams.Select(s => SynczWriter.Protocol(s.Protocol) + (s.Types.Count == 1 && proxy.Streams.Count > 1
                    ? " " + ProxySync.ShortName(s.Types[0].TypeUrl) : string.Empty))))).Append("</td>");
            foreach (var (shortName, _) in columns)
            {
                var type = proxy.Types.FirstOrDefault(t => ProxySync.ShortName(t.TypeUrl) == shortName);
                if (type is null)
                {
                    html.Append("<td class=\"sync not-sent\">-</td>");
                    continue;
                }

                var state = ProxySync.StateOf(type);
                html.Append("<td class=\"sync ").Append(Css(state)).Append("\" title=\"")
                    .Append(E($"sent {type.LastSentVersion ?? "nothing"}{(type.LastSentNonce is null ? "" : " (nonce " + type.LastSentNonce + ")")}, ACKed {type.AckedVersion ?? "nothing"}"))
                    .Append("\">").Append(ProxySync.Text(state)).Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</tbody></table>");
        More(html, proxies.Count);

        html.Append("<h3>Per type</h3><table id=\"type-table\"><thead><tr><th>node id</th><th>type</th><th>state</th><th>version sent</th>")
            .Append("<th>nonce</th><th>sent at (UTC)</th><th>version ACKed</th><th>resources</th><th>last NACK</th></tr></thead><tbody>");
        var rows = proxies.SelectMany(p => p.Types.Select(t => (Proxy: p, Type: t))).ToList();
        foreach (var (proxy, type) in rows.Take(options.MaxTableRows))
        {
            var state = ProxySync.StateOf(type);
            html.Append("<tr><td class=\"id\">").Append(E(proxy.NodeId)).Append("</td><td>").Append(E(ProxySync.ShortName(type.TypeUrl)))
                .Append("</td><td class=\"sync ").Append(Css(state)).Append("\">").Append(ProxySync.Text(state)).Append("</td><td>")
                .Append(E(type.LastSentVersion ?? "")).Append("</td><td>").Append(E(type.LastSentNonce ?? "")).Append("</td><td>")
                .Append(type.LastSentAt is { } at ? Clock(at) : string.Empty).Append("</td><td>").Append(E(type.AckedVersion ?? "")).Append("</td><td>")
                .Append(Count(type.Resources.Count)).Append("</td><td>");
            if (type.LastNack is { } nack)
            {
                html.Append("<span class=\"warn\" title=\"").Append(E($"version {nack.RejectedVersion}, nonce {nack.Nonce}"))
                    .Append("\">").Append(Clock(nack.At)).Append("</span> ").Append(E(nack.Message));
            }

            html.Append("</td></tr>");
        }

        html.Append("</tbody></table>");
        More(html, rows.Count);
        html.Append("</section>");
    }

    private void WritePushes(StringBuilder html, DateTimeOffset now)
    {
        var buckets = history.Snapshot();
        var responses = buckets.Sum(b => b.Responses);
        var nacks = buckets.Sum(b => b.Nacks);
        var average = responses == 0 ? 0 : buckets.Sum(b => b.LatencyAverageMs * b.Responses) / responses;
        var longest = buckets.Count == 0 ? 0 : buckets.Max(b => b.LatencyMaxMs);
        var window = history.Interval * buckets.Count;
        html.Append("<section id=\"pushes\"><h2>Pushes</h2><p>In the last ").Append(E(Span(window))).Append(": ")
            .Append(Count(responses)).Append(" responses sent, average push latency ").Append(Ms(average)).Append(", longest ")
            .Append(Ms(longest)).Append(", ").Append(Count(nacks)).Append(nacks == 1 ? " NACK" : " NACKs").Append(". Push latency runs from a configuration change reaching a ")
            .Append("proxy's watch to the response being written.</p>")
            .Append("<figure id=\"push-chart\" data-drawn=\"false\"><figcaption>Responses sent and average push latency per ")
            .Append(E(Span(history.Interval))).Append(", up to ").Append(E(Time(now))).Append(" (drawn by the page's script).</figcaption></figure>")
            .Append("<script type=\"application/json\" id=\"push-history\">");

        // Data, not code: numbers only, and System.Text.Json escapes '<' and '>' anyway.
        using (var buffer = new MemoryStream())
        {
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteNumber("intervalSeconds", history.Interval.TotalSeconds);
                json.WriteStartArray("buckets");
                foreach (var bucket in buckets)
                {
                    json.WriteStartObject();
                    json.WriteNumber("t", bucket.Start.ToUnixTimeMilliseconds());
                    json.WriteNumber("n", bucket.Responses);
                    json.WriteNumber("avg", Math.Round(bucket.LatencyAverageMs, 3));
                    json.WriteNumber("max", Math.Round(bucket.LatencyMaxMs, 3));
                    json.WriteNumber("nacks", bucket.Nacks);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            html.Append(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }

        html.Append("</script><details><summary>The same as a table (intervals with activity)</summary>")
            .Append("<table id=\"push-table\"><thead><tr><th>interval from</th><th>responses</th><th>average latency</th><th>longest</th>")
            .Append("<th>NACKs</th></tr></thead><tbody>");
        foreach (var bucket in buckets.Where(b => b.Responses > 0 || b.Nacks > 0))
        {
            html.Append("<tr><td>").Append(E(Time(bucket.Start))).Append("</td><td>").Append(Count(bucket.Responses)).Append("</td><td>")
                .Append(Ms(bucket.LatencyAverageMs)).Append("</td><td>").Append(Ms(bucket.LatencyMaxMs)).Append("</td><td>")
                .Append(Count(bucket.Nacks)).Append("</td></tr>");
        }

        html.Append("</tbody></table></details></section>");
    }

    private void WriteDiscovery(StringBuilder html, ServiceRegistry registry)
    {
        var snapshot = registry.Current;
        html.Append("<section id=\"discovery\"><h2>Discovery</h2><table id=\"source-table\"><thead><tr><th>source</th><th>ready</th>")
            .Append("<th>healthy</th><th>message</th><th>since</th></tr></thead><tbody>");
        foreach (var source in registry.Sources.Take(options.MaxTableRows))
        {
            html.Append("<tr><td>").Append(E(source.Name)).Append("</td><td>").Append(source.Ready ? "yes" : "no").Append("</td><td>")
                .Append(source.Healthy ? "yes" : "no").Append("</td><td>").Append(E(source.Message)).Append("</td><td>")
                .Append(E(Time(source.Since))).Append("</td></tr>");
        }

        html.Append("</tbody></table><p>Registry generation ").Append(Count(snapshot.Generation)).Append(": ")
            .Append(Count(snapshot.Count)).Append(" objects, ").Append(Count(snapshot.Services.Count())).Append(" services.")
            .Append(registry.IsReady ? string.Empty : " <span class=\"warn\">Not ready: a source has not finished its first listing.</span>")
            .Append("</p></section>");
    }

    private void More(StringBuilder html, int total)
    {
        if (total > options.MaxTableRows)
        {
            html.Append("<p class=\"note\">").Append(Count(total - options.MaxTableRows)).Append(" more rows not shown (see the JSON).</p>");
        }
    }

    private static string Css(SyncState state) => state switch
    {
        SyncState.Synced => "synced",
        SyncState.Stale => "stale",
        _ => "not-sent",
    };

    private static string E(string text) => XdsStatusSectionWriter.Encode(text);

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ms(double value) => value.ToString(value >= 10 ? "0" : "0.00", CultureInfo.InvariantCulture) + " ms";

    /// <summary>A time of today as <c>HH:mm:ss</c> in a <c>time</c> element whose title holds the full date.</summary>
    private static string Clock(DateTimeOffset at) =>
        "<time title=\"" + E(Time(at)) + "\">" + at.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture) + "</time>";

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Span(TimeSpan span) => span.TotalMinutes >= 1 && span.Seconds == 0
        ? span.TotalMinutes.ToString("0", CultureInfo.InvariantCulture) + " min"
        : span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";
}

/// <summary>Where this host serves the JSON debug endpoints (null when they are not mapped), for the page's links.</summary>
internal sealed record OperatorLinks(string? Syncz, string? ConfigDump);

/// <summary>Marks the endpoints <c>MapXdsDebug()</c> maps, so that the status page can link to them.</summary>
/// <param name="Kind"><c>syncz</c> or <c>config_dump</c>.</param>
internal sealed record XdsDebugEndpointMetadata(string Kind);
