namespace XdsServer.Discovery;

/// <summary>
/// A source of services, endpoints, workloads and configuration: a Kubernetes cluster, a folder of manifests, your
/// own. Registered with <c>AddDiscoverySource</c>; the host runs each source once, writing to the shared
/// <see cref="ServiceRegistry"/> through its own <see cref="DiscoverySink"/>.
/// </summary>
public interface IServiceDiscoverySource
{
    /// <summary>A name unique among the host's sources, used in logs, status and object ownership.</summary>
    string Name { get; }

    /// <summary>Loads the initial state, calls <see cref="DiscoverySink.SetReady"/>, then follows changes until
    /// <paramref name="cancellationToken"/> is cancelled. A source should report its own trouble through
    /// <see cref="DiscoverySink.SetHealth"/> and keep going; if it throws, the host logs it, marks it unhealthy and
    /// starts it again after a back-off.</summary>
    /// <param name="sink">Where the source writes.</param>
    /// <param name="cancellationToken">Cancelled when the host stops.</param>
    /// <returns>Completes when the source stops.</returns>
    Task RunAsync(DiscoverySink sink, CancellationToken cancellationToken);
}
