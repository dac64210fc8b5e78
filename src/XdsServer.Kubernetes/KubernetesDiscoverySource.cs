using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Discovery;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// Service discovery from a live Kubernetes cluster: one list/watch per kind — Services, EndpointSlices, Pods,
/// Namespaces, Nodes and the Istio kinds of <see cref="KubernetesDiscoveryOptions.IstioKinds"/> — translated by
/// <see cref="KubernetesTranslator"/> into the service registry.
/// </summary>
/// <remarks>
/// Each kind is listed, then watched from the list's resource version with bookmarks; events are written as they
/// come. A watch that ends or breaks is resumed from the last resource version seen; when that is too old (410 Gone)
/// the kind is listed again and replaces what was held, so only real differences become changes. A watch that sends
/// nothing, not even a bookmark, for <see cref="KubernetesDiscoveryOptions.WatchdogTimeout"/> is ended and resumed.
/// Failures are retried with a jittered back-off (1 s doubling to 30 s) while the source reports itself unhealthy,
/// naming the failing kinds. The source is ready once every kind has been listed; an Istio kind whose CRD is not
/// installed is named in the status, checked again every few minutes, and does not hold readiness back.
/// </remarks>
public sealed class KubernetesDiscoverySource : IServiceDiscoverySource
{
    private readonly KubernetesDiscoveryOptions _options;
    private readonly Func<IKubernetesObject<V1ObjectMeta>, IReadOnlyList<RegistryObject>> _translate;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the source.</summary>
    /// <param name="options">How to reach the cluster and what to watch (copied: later changes have no effect).</param>
    /// <param name="timeProvider">The clock for back-off and the watchdog; the system clock by default.</param>
    /// <param name="loggerFactory">Where it logs; nowhere by default.</param>
    public KubernetesDiscoverySource(KubernetesDiscoveryOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, null, timeProvider, loggerFactory)
    {
    }

    /// <summary>Creates the source with another translation (tests observe what the source hands over).</summary>
    internal KubernetesDiscoverySource(KubernetesDiscoveryOptions options,
        Func<IKubernetesObject<V1ObjectMeta>, IReadOnlyList<RegistryObject>>? translate,
        TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Copy();
        ArgumentException.ThrowIfNullOrEmpty(_options.Name, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(_options.Domain, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.WatchdogTimeout, TimeSpan.Zero, nameof(options));
        _translate = translate ?? new KubernetesTranslator(_options.Domain).Translate;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<KubernetesDiscoverySource>() ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => _options.Name;

    /// <inheritdoc />
    public async Task RunAsync(DiscoverySink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        using var client = new k8s.Kubernetes(Configuration());
        var api = new KubernetesApi(client);
        var objects = new SourceObjects(sink, _translate, _logger);
        var namespaces = _options.Namespaces.ToHashSet(StringComparer.Ordinal);

        // With a set of namespaces, namespaced kinds are watched per namespace and only those Namespace objects are
        // held; everything else is watched cluster-wide.
        List<(WatchedKind Kind, string? Namespace, Func<IKubernetesObject<V1ObjectMeta>, bool> Holds)> plan = [];
        foreach (var kind in WatchedKind.For(_options.IstioKinds))
        {
            if (kind.Namespaced && namespaces.Count > 0)
            {
                plan.AddRange(namespaces.Order(StringComparer.Ordinal).Select(ns => (kind, (string?)ns, (Func<IKubernetesObject<V1ObjectMeta>, bool>)(_ => true))));
            }
            else if (kind.Kind == "Namespace" && namespaces.Count > 0)
            {
                plan.Add((kind, null, o => namespaces.Contains(o.Metadata.Name)));
            }
            else
            {
                plan.Add((kind, null, _ => true));
            }
        }

        var health = new SourceHealth(sink, plan.Select(p => ResourceInformer.NameOf(p.Kind, p.Namespace)));
        health.BecameReady += message => KubernetesLog.Ready(_logger, Name, message);
        var informers = plan.Select(p => new ResourceInformer(api, p.Kind, p.Namespace, p.Holds, objects, health, _options, _time, _logger));
        await Task.WhenAll(informers.Select(i => i.RunAsync(cancellationToken))).ConfigureAwait(false);
    }

    private KubernetesClientConfiguration Configuration() =>
        _options.KubeconfigPath is { } path ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
        : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
        : KubernetesClientConfiguration.BuildDefaultConfig();
}
