using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace XdsServer.Files;

/// <summary>Unhealthy until the folder is loaded; then healthy, or degraded while the folder has problems
/// (the last good snapshot is still served, so the server still serves).</summary>
internal sealed class FileResourceHealthCheck(FileResourceSource source) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = source.Status;
        var data = new Dictionary<string, object>
        {
            ["directory"] = status.Directory,
            ["group"] = status.Group,
            ["resources"] = status.ResourceCount,
            ["errors"] = status.Errors.Count,
        };
        var result = !status.IsLoaded
            ? new HealthCheckResult(context.Registration.FailureStatus, $"'{status.Directory}' is not loaded yet: {status}", data: data)
            : status.Errors.Count > 0
                ? HealthCheckResult.Degraded(status.ToString(), data: data)
                : HealthCheckResult.Healthy(status.ToString(), data);
        return Task.FromResult(result);
    }
}
