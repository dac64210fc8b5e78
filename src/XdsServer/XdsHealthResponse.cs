using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Net.Http.Headers;

namespace XdsServer;

/// <summary>
/// A health response that says why: the overall status and, per check, its name, status and description (why it is
/// Degraded or Unhealthy). Use it as the writer of a health endpoint:
/// <c>app.MapHealthChecks("/healthz", new() { ResponseWriter = XdsHealthResponse.WriteAsync })</c>.
/// </summary>
/// <remarks>
/// <para>Plain text by default; JSON when the request accepts <c>application/json</c> (an object with <c>status</c>,
/// <c>checks</c>: [{ <c>name</c>, <c>status</c>, <c>description</c> }] and <c>descriptionsHidden</c>).</para>
/// <para>Descriptions can name files, lines, hosts and paths (a YAML error quotes the file; a discovery problem names
/// the API server), so only callers allowed to read operator detail see them: by default callers on this machine
/// (loopback at both ends, <see cref="TransportSecurity.IsLoopback"/>), like CSDS and the debug endpoints. Others get
/// the overall status and each check's name and status, which a load balancer or orchestrator needs, and nothing
/// else. <see cref="WithDescriptionsFor"/> makes a writer with another rule. The check's data and exceptions are
/// never written.</para>
/// <para>The HTTP status code is the health endpoint's (by default 200 for Healthy and Degraded, 503 for
/// Unhealthy).</para>
/// </remarks>
public static class XdsHealthResponse
{
    private static readonly Func<HttpContext, HealthReport, Task> LoopbackWriter = WithDescriptionsFor(TransportSecurity.IsLoopback);

    /// <summary>Writes <paramref name="report"/>, with descriptions for loopback callers only.</summary>
    /// <param name="context">The health request.</param>
    /// <param name="report">The report the health check service made.</param>
    /// <returns>A task that completes once the response is written.</returns>
    public static Task WriteAsync(HttpContext context, HealthReport report) => LoopbackWriter(context, report);

    /// <summary>Makes a writer that shows descriptions to the callers <paramref name="mayReadDescriptions"/> allows (for
    /// example those with a client certificate or an operator token) and hides them from the rest.</summary>
    /// <param name="mayReadDescriptions">Whether a request may read the checks' descriptions.</param>
    /// <returns>A writer for <c>HealthCheckOptions.ResponseWriter</c>.</returns>
    public static Func<HttpContext, HealthReport, Task> WithDescriptionsFor(Func<HttpContext, bool> mayReadDescriptions)
    {
        ArgumentNullException.ThrowIfNull(mayReadDescriptions);
        return (context, report) =>
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(report);
            var details = mayReadDescriptions(context);
            return AcceptsJson(context.Request)
                ? WriteJsonAsync(context, report, details)
                : WriteTextAsync(context, report, details);
        };
    }

    private static bool AcceptsJson(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase));

    private static Task WriteTextAsync(HttpContext context, HealthReport report, bool details)
    {
        var text = new StringBuilder();
        text.Append(report.Status).Append('\n');
        foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(name).Append(": ").Append(entry.Status);
            if (details && !string.IsNullOrEmpty(entry.Description))
            {
                // A description may span lines (a file's errors): continuation lines are indented under their check.
                text.Append(" - ").Append(entry.Description.ReplaceLineEndings("\n    "));
            }

            text.Append('\n');
        }

        if (!details && report.Entries.Count > 0)
        {
            text.Append("(why a check is not healthy is shown to callers on this machine only)\n");
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    private static async Task WriteJsonAsync(HttpContext context, HealthReport report, bool details)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteBoolean("descriptionsHidden", !details);
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", entry.Status.ToString());
            if (details && entry.Description is { } description)
            {
                json.WriteString("description", description);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
