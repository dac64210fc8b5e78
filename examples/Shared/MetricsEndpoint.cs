// Shared by the example hosts (FileServer, MeshHost): compiled into each of them (see their .csproj), so both expose
// the same GET /metrics.
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace XdsServer.Examples;

/// <summary>
/// <c>GET /metrics</c>: the host's meters in the Prometheus text exposition format, through OpenTelemetry, on the
/// HTTP/1.1 port only (the gRPC port answers 404).
/// </summary>
/// <remarks>
/// Who may scrape: any caller, like <c>/healthz</c>. The series are counts and durations whose labels the server
/// chooses from small fixed sets — the xDS type's short name and the protocol (meter <c>XdsServer</c>), a refusal
/// reason from an enum (<c>XdsServer.Ca</c>), push types, scopes and changed kinds (<c>MeshHost</c>), ASP.NET Core's
/// route templates, methods and status codes — and never carry text a client sent (node ids, resource names,
/// paths, certificates). So they tell a remote caller how busy the server is, nothing about who its clients are or
/// what they get; the debug endpoints and CSDS, which do, stay loopback-only. Scrape responses are cached for 300 ms
/// (the exporter's default), so a caller scraping in a loop costs one collection per 300 ms.
/// </remarks>
internal static class MetricsEndpoint
{
    /// <summary>The scrape path.</summary>
    public const string Path = "/metrics";

    /// <summary>The meters every example host exports: the xDS server, its caches, the CA, and the runtime's and
    /// ASP.NET Core's own (built in, so cheap to add).</summary>
    public static readonly IReadOnlyList<string> Meters =
        ["XdsServer", "XdsServer.Cache", "XdsServer.Ca", "System.Runtime", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>Registers OpenTelemetry metrics with a Prometheus exporter for <see cref="Meters"/> and
    /// <paramref name="hostMeters"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="hostMeters">The host's own meters.</param>
    public static void AddMetricsEndpoint(this IServiceCollection services, params string[] hostMeters)
    {
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter([.. Meters, .. hostMeters]).AddPrometheusExporter();
            // OpenTelemetry subscribes to meters by name, process-wide; the host's meters come from its own
            // IMeterFactory, so another host in the same process (tests run several) must not show up in this one's
            // scrape. Meters made by no factory (System.Runtime) describe the process and stay.
            ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
            {
                var own = provider.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, own)
                    ? null
                    : MetricStreamConfiguration.Drop);
            });
        });
    }

    /// <summary>Answers <c>GET /metrics</c> on the connections <paramref name="isHttpPort"/> accepts (by local port).</summary>
    /// <param name="app">The host.</param>
    /// <param name="isHttpPort">Whether a local port is one of the host's HTTP/1.1 ports (asked per request, so
    /// ports the system chose at bind time count).</param>
    public static void MapMetricsEndpoint(this WebApplication app, Func<int, bool> isHttpPort)
    {
        ArgumentNullException.ThrowIfNull(isHttpPort);
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => context.Request.Path == Path && isHttpPort(context.Connection.LocalPort),
            path: null,
            configureBranchedPipeline: null,
            optionsName: null);
    }
}
