using Microsoft.Extensions.Logging;
using XdsServer;
using XdsServer.Kubernetes;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a folder of Kubernetes manifests as a service discovery source.</summary>
public static class ManifestDiscoveryXdsServerBuilderExtensions
{
    /// <summary>Adds a <see cref="ManifestDiscoverySource"/> (and service discovery itself, with its health check
    /// <c>discovery</c>). Call it again with another <see cref="ManifestDiscoveryOptions.Name"/> for another folder.</summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="configure">Sets the folder (required) and the rest.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">The options are incomplete or out of range.</exception>
    public static IXdsServerBuilder AddManifestDiscovery(this IXdsServerBuilder builder, Action<ManifestDiscoveryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ManifestDiscoveryOptions();
        configure(options);
        options.Validate();
        return builder.AddDiscoverySource(sp => new ManifestDiscoverySource(options, sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<ManifestDiscoverySource>>()));
    }
}
