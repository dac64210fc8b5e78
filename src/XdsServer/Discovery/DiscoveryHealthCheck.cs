using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace XdsServer.Discovery;

/// <summary>Health check <c>discovery</c>: Unhealthy until every source has loaded its initial state, Degraded while a
/// source is unhealthy, Healthy otherwise; the description names the sources and what they said.</summary>
internal sealed class DiscoveryHealthCheck(ServiceRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var sources = registry.Sources;
        var text = string.Join("; ", sources.Select(s => $"{s.Name}: {(s.Ready ? "ready" : "loading")}, {s.Message}"));
        if (sources.Count == 0 || sources.Any(s => !s.Ready))
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(sources.Count == 0 ? "no discovery source has started" : text));
        }

        return Task.FromResult(sources.Any(s => !s.Healthy) ? HealthCheckResult.Degraded(text) : HealthCheckResult.Healthy(text));
    }
}
