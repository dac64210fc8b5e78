using Microsoft.Extensions.Logging;
using XdsServer;
using XdsServer.Kubernetes;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers service discovery from a live Kubernetes cluster.</summary>
public static class KubernetesDiscoveryXdsServerBuilderExtensions
{
    /// <summary>Adds a <see cref="KubernetesDiscoverySource"/> (and service discovery itself, through
    /// <c>AddDiscoverySource</c>), configured by <paramref name="configure"/>.</summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="configure">Sets the options; by default the source connects in-cluster or with the default
    /// kubeconfig and watches every namespace.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IXdsServerBuilder AddKubernetesDiscovery(this IXdsServerBuilder builder, Action<KubernetesDiscoveryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new KubernetesDiscoveryOptions();
        configure?.Invoke(options);
        return builder.AddDiscoverySource(sp => new KubernetesDiscoverySource(options, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
    }
}
