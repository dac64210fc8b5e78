using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XdsServer;
using XdsServer.Discovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers service discovery: the <see cref="ServiceRegistry"/> and the sources that fill it.</summary>
public static class ServiceDiscoveryXdsServerBuilderExtensions
{
    /// <summary>
    /// Adds the <see cref="ServiceRegistry"/> (a singleton), the host that runs every registered
    /// <see cref="IServiceDiscoverySource"/>, and the health check <c>discovery</c>. Called by every
    /// <c>AddDiscoverySource</c>; calling it again does nothing.
    /// </summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IXdsServerBuilder AddServiceDiscovery(this IXdsServerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(ServiceRegistry)))
        {
            return builder;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new ServiceRegistry(sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<ServiceRegistry>>()));
        services.AddSingleton<IHostedService, DiscoveryHost>();
        services.AddHealthChecks().AddCheck<DiscoveryHealthCheck>("discovery", tags: ["ready"]);
        return builder;
    }

    /// <summary>Adds a discovery source of your own (created by the container), and service discovery itself.</summary>
    /// <typeparam name="TSource">The source type.</typeparam>
    /// <param name="builder">The xDS server builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IXdsServerBuilder AddDiscoverySource<TSource>(this IXdsServerBuilder builder)
        where TSource : class, IServiceDiscoverySource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceDiscovery();
        builder.Services.AddSingleton<IServiceDiscoverySource, TSource>();
        return builder;
    }

    /// <summary>Adds a discovery source made by <paramref name="factory"/>, and service discovery itself. Several sources
    /// feed one registry (a cluster and a folder of ServiceEntries, say); each needs its own
    /// <see cref="IServiceDiscoverySource.Name"/>.</summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="factory">Creates the source.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IXdsServerBuilder AddDiscoverySource(this IXdsServerBuilder builder, Func<IServiceProvider, IServiceDiscoverySource> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.AddServiceDiscovery();
        builder.Services.AddSingleton(factory);
        return builder;
    }
}
