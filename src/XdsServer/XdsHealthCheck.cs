using Microsoft.Extensions.Diagnostics.HealthChecks;
using XdsServer.Internal;

namespace XdsServer;

/// <summary>Healthy once the server's cache is built; reports the number of open streams.</summary>
internal sealed class XdsHealthCheck(XdsServerCore core) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var streams = core.Registry.Sources.Count();
        return Task.FromResult(HealthCheckResult.Healthy($"{streams} xDS stream(s) open",
            new Dictionary<string, object> { ["streams"] = streams }));
    }
}
