using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XdsServer;
using XdsServer.Cache;
using XdsServer.Internal;
using XdsServer.Services;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the xDS server.</summary>
public static class XdsServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the xDS server (gRPC services, REST fetch, CSDS, status, metrics, health check). Choose its
    /// cache on the returned builder: <c>.AddSnapshotCache()</c>, <c>.AddLinearCache(type)</c> or
    /// <c>.AddCache&lt;T&gt;()</c>; then call <c>app.MapXdsServer()</c>.
    /// </summary>
    public static IXdsServerBuilder AddXdsServer(this IServiceCollection services, Action<XdsServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<XdsServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<XdsServerOptions>, XdsServerOptionsValidator>());
        services.AddGrpc();
        // One service object binds ADS and the per-type services with the pre-encoded response marshaller.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<DiscoveryService>, DiscoveryServiceMethods>());
        ConfigureGrpc<DiscoveryService>(services);

        services.TryAddSingleton(TimeProvider.System);
        // Meters come from the host's IMeterFactory (a web host has one; a bare service collection gets one here),
        // so two hosts in one process keep their own instruments.
        services.AddMetrics();
        services.TryAddSingleton(sp => new XdsMetrics(sp.GetRequiredService<IMeterFactory>()));
        services.TryAddSingleton<OperatorResources>();
        services.TryAddSingleton<CacheRoutes>();
        services.TryAddSingleton<StreamRegistry>();
        services.TryAddSingleton<IXdsStatus>(sp => sp.GetRequiredService<StreamRegistry>());
        services.TryAddSingleton<IXdsStreamAuthorization>(sp => sp.GetRequiredService<StreamRegistry>());
        services.TryAddSingleton(sp =>
        {
            var extra = sp.GetRequiredService<CacheRoutes>().ExtraTypes;
            return extra.Aggregate(ResourceTypeRegistry.Default, (registry, type) => registry.With(type));
        });
        services.TryAddSingleton<ICache>(BuildCache);
        services.TryAddSingleton(sp => new XdsServerCore(
            sp.GetRequiredService<ICache>(),
            sp.GetRequiredService<ResourceTypeRegistry>(),
            sp.GetRequiredService<IOptions<XdsServerOptions>>(),
            sp.GetServices<IXdsCallbacks>(),
            sp.GetServices<INodeAuthorizer>(),
            sp.GetRequiredService<StreamRegistry>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<XdsMetrics>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ClientStatusOptions>();
        services.AddHostedService<XdsServerStartupLog>();
        services.AddHealthChecks().AddCheck<XdsHealthCheck>("xds");
        return new XdsServerBuilder(services);
    }

    private static void ConfigureGrpc<TService>(IServiceCollection services)
        where TService : class
    {
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions<TService>>()
            .Configure<IOptions<XdsServerOptions>>((grpc, xds) =>
            {
                grpc.MaxReceiveMessageSize = xds.Value.MaxRequestBytes;
                grpc.MaxSendMessageSize = xds.Value.MaxResponseBytes;
            });
    }

    private static ICache BuildCache(IServiceProvider services)
    {
        var routes = services.GetRequiredService<CacheRoutes>();
        var fallback = routes.Default?.Invoke(services);
        if (routes.ByType.Count == 0)
        {
            return fallback ?? throw new InvalidOperationException(
                "The xDS server has no cache: call AddSnapshotCache(), AddLinearCache(type) or AddCache<T>() on the builder AddXdsServer returns.");
        }

        var byType = routes.ByType.ToDictionary(r => r.Key, r => r.Value(services), StringComparer.Ordinal);
        return new MuxCache(byType, fallback);
    }
}

/// <summary>Builder methods of <see cref="IXdsServerBuilder"/>.</summary>
public static class XdsServerBuilderExtensions
{
    /// <summary>Serves every type (not taken by a more specific cache) from a <see cref="SnapshotCache"/>,
    /// registered as a singleton so the host can set snapshots on it. Its metrics (meter <c>XdsServer.Cache</c>) come
    /// from the host's <see cref="IMeterFactory"/> unless <paramref name="configure"/> sets
    /// <see cref="SnapshotCacheOptions.MeterFactory"/>.</summary>
    public static IXdsServerBuilder AddSnapshotCache(this IXdsServerBuilder builder, Action<SnapshotCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(sp =>
        {
            var options = new SnapshotCacheOptions();
            configure?.Invoke(options);
            options.MeterFactory ??= sp.GetService<IMeterFactory>();
            return new SnapshotCache(options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<SnapshotCache>>());
        });
        return builder.UseDefault(sp => sp.GetRequiredService<SnapshotCache>());
    }

    /// <summary>Serves <paramref name="type"/> from a <see cref="LinearCache"/>, registered as a keyed
    /// singleton under the type URL (<c>[FromKeyedServices(TypeUrls.ClusterLoadAssignment)] LinearCache</c>), with the
    /// host's <see cref="IMeterFactory"/> for its metrics.</summary>
    public static IXdsServerBuilder AddLinearCache(this IXdsServerBuilder builder, ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(type);
        builder.Services.AddKeyedSingleton(type.TypeUrl,
            (sp, _) => new LinearCache(type, sp.GetService<ILogger<LinearCache>>(), sp.GetService<IMeterFactory>()));
        return builder.AddCache(type.TypeUrl, sp => sp.GetRequiredKeyedService<LinearCache>(type.TypeUrl));
    }

    /// <summary>Serves the type <paramref name="typeUrl"/> from the cache <paramref name="factory"/> returns (resolved
    /// once, when the server starts), whatever the default cache is. A later call for the same type replaces
    /// the earlier one.</summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="typeUrl">The type URL, such as <see cref="TypeUrls.Secret"/>.</param>
    /// <param name="factory">Returns the cache for that type.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IXdsServerBuilder AddCache(this IXdsServerBuilder builder, string typeUrl, Func<IServiceProvider, ICache> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Routes().ByType[typeUrl] = factory;
        return builder;
    }

    /// <summary>Serves every type (not taken by a more specific cache) from your own cache.</summary>
    public static IXdsServerBuilder AddCache<TCache>(this IXdsServerBuilder builder)
        where TCache : class, ICache
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TCache>();
        return builder.UseDefault(sp => sp.GetRequiredService<TCache>());
    }

    /// <summary>Serves every type from the given cache instance.</summary>
    public static IXdsServerBuilder AddCache(this IXdsServerBuilder builder, ICache cache)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cache);
        return builder.UseDefault(_ => cache);
    }

    /// <summary>Adds stream callbacks; several run in registration order.</summary>
    public static IXdsServerBuilder AddCallbacks<TCallbacks>(this IXdsServerBuilder builder)
        where TCallbacks : class, IXdsCallbacks
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IXdsCallbacks, TCallbacks>());
        return builder;
    }

    /// <summary>Adds a node authorizer: it decides whether a caller may claim the node it sends.</summary>
    public static IXdsServerBuilder AddNodeAuthorizer<TAuthorizer>(this IXdsServerBuilder builder)
        where TAuthorizer : class, INodeAuthorizer
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<INodeAuthorizer, TAuthorizer>());
        return builder;
    }

    /// <summary>Serves a resource type beyond Envoy's own.</summary>
    public static IXdsServerBuilder AddResourceType(this IXdsServerBuilder builder, ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(type);
        builder.Routes().ExtraTypes.Add(type);
        return builder;
    }

    private static IXdsServerBuilder UseDefault(this IXdsServerBuilder builder, Func<IServiceProvider, ICache> factory)
    {
        var routes = builder.Routes();
        if (routes.Default is not null)
        {
            throw new InvalidOperationException(
                "The xDS server already has a default cache; use AddLinearCache(type) to serve single types from another cache.");
        }

        routes.Default = factory;
        return builder;
    }

    private static CacheRoutes Routes(this IXdsServerBuilder builder)
    {
        var descriptor = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(CacheRoutes) && d.ImplementationInstance is not null);
        if (descriptor?.ImplementationInstance is CacheRoutes routes)
        {
            return routes;
        }

        routes = new CacheRoutes();
        builder.Services.RemoveAll<CacheRoutes>();
        builder.Services.AddSingleton(routes);
        return routes;
    }
}
