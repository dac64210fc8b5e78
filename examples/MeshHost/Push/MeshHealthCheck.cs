using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MeshHost.Push;

/// <summary>Health check <c>mesh</c>: Unhealthy until discovery is ready and the first push context is built
/// (so <c>grpc.health.v1.Health/Check("")</c> answers SERVING only once proxies can be served what the mesh
/// holds), Healthy after.</summary>
public sealed class MeshHealthCheck(MeshPublisher publisher) : IHealthCheck
{
    /// <summary>The check's registration name.</summary>
    public const string Name = "mesh";

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(publisher.Current is { } current
            ? HealthCheckResult.Healthy($"serving registry generation {current.Generation}: {current.Services.Count} services, {publisher.Proxies.Count} proxies connected")
            : HealthCheckResult.Unhealthy("waiting for discovery to be ready and the first push context to be built"));
}
