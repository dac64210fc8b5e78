using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XdsServer;
using XdsServer.Cache;
using XdsServer.Files;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Serves Envoy resources from a folder of YAML and JSON files.</summary>
public static class FileResourcesXdsServerBuilderExtensions
{
    /// <summary>
    /// Serves the resources of a folder (<see cref="FileResourceOptions.Directory"/>) to the nodes of
    /// <see cref="FileResourceOptions.Group"/>: registers a <see cref="FileResourceSource"/> (a hosted service,
    /// resolvable as <c>FileResourceSource</c> or keyed by its group) and a health check
    /// <c>xds-files:{group}</c> that is unhealthy until the folder is loaded and degraded while it has problems.
    /// </summary>
    /// <remarks>
    /// The source publishes to the <see cref="SnapshotCache"/>. When no <c>SnapshotCache</c> is registered yet,
    /// this adds one (<c>AddSnapshotCache</c>) whose <see cref="SnapshotCacheOptions.NodeHash"/> maps every node to
    /// the group, so every node sees the folder with no further setup. To configure the cache yourself, call
    /// <c>AddSnapshotCache</c> first and map the nodes that should see the folder to its group, e.g.
    /// <c>o.NodeHash = new NodeHash(_ => FileResourceOptions.DefaultGroup)</c>; a log line (event 2105) says
    /// when not every node maps there.
    /// </remarks>
    /// <exception cref="ArgumentException">The options are incomplete.</exception>
    /// <exception cref="InvalidOperationException">A source is already registered for the same group.</exception>
    public static IXdsServerBuilder AddFileResources(this IXdsServerBuilder builder, Action<FileResourceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new FileResourceOptions();
        configure(options);
        options.Validate();
        var group = options.Group;
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(FileResourceSource) && d.IsKeyedService && Equals(d.ServiceKey, group)))
        {
            throw new InvalidOperationException(
                $"A file resource source already publishes group '{group}'; give each folder its own FileResourceOptions.Group.");
        }

        if (!services.Any(d => d.ServiceType == typeof(SnapshotCache)))
        {
            builder.AddSnapshotCache(o => o.NodeHash = new NodeHash(_ => group));
        }

        services.AddKeyedSingleton(group, (sp, _) => new FileResourceSource(
            options,
            sp.GetRequiredService<SnapshotCache>(),
            sp.GetService<ResourceTypeRegistry>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<FileResourceSource>>()));
        services.AddSingleton(sp => sp.GetRequiredKeyedService<FileResourceSource>(group));
        // Not AddHostedService: it deduplicates by implementation type, and each folder needs its own.
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<FileResourceSource>(group));
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"xds-files:{group}",
            sp => new FileResourceHealthCheck(sp.GetRequiredKeyedService<FileResourceSource>(group)),
            failureStatus: HealthStatus.Unhealthy,
            tags: ["xds", "ready"]));
        return builder;
    }
}
