using Microsoft.Extensions.DependencyInjection;

namespace XdsServer;

/// <summary>Configures the xDS server registered by <c>AddXdsServer</c>: its caches, callbacks and authorizer.</summary>
public interface IXdsServerBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}

internal sealed class XdsServerBuilder(IServiceCollection services) : IXdsServerBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>Which cache serves which type; built into the <c>ICache</c> the server uses.</summary>
internal sealed class CacheRoutes
{
    /// <summary>Caches for single types (type URL → factory).</summary>
    public Dictionary<string, Func<IServiceProvider, Cache.ICache>> ByType { get; } = new(StringComparer.Ordinal);

    /// <summary>The cache for every other type.</summary>
    public Func<IServiceProvider, Cache.ICache>? Default { get; set; }

    /// <summary>Extra resource types beyond Envoy's.</summary>
    public List<Cache.ResourceType> ExtraTypes { get; } = [];
}
