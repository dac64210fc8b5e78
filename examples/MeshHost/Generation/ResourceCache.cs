using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Cache;
using XdsServer.Discovery;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace MeshHost.Generation;

/// <summary>
/// The resources of one <see cref="PushContext"/> shared between proxies and carried across pushes, so memory grows
/// with distinct configuration rather than proxies × configuration, and an unchanged resource keeps its instance:
/// <list type="bullet">
/// <item>Every resource a cached generation produces is interned by (type, name, content version): proxies that are
/// given equal bytes hold the same <see cref="XdsResource"/> (serialized once), whatever produced them. A resource
/// equal to one of the previous push keeps that instance.</item>
/// <item>Outbound clusters and their ClusterLoadAssignments are also memoised before translation, by the inputs they
/// depend on: the service (or cluster name), the proxy's namespace (service and DestinationRule visibility,
/// <c>exportTo</c>), its type (sidecar or gateway), its address family (DNS clusters) and, only when a DestinationRule
/// with a workload selector could apply (its namespace or the root namespace), which of those select the proxy
/// (<see cref="DestinationRuleSelection"/>). These are exactly the proxy inputs of
/// <see cref="ClusterBuilder.BuildOutbound"/> and <see cref="EndpointBuilder.ForCluster"/>.</item>
/// <item><see cref="Next"/> starts the cache of the next push: memoised clusters and endpoints of hosts the
/// <see cref="ChangeScope"/> leaves alone are carried over untranslated.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class ResourceCache
{
    private readonly ConcurrentDictionary<(string Type, string Name, string Version), XdsResource> _interned = new();
    private readonly ConcurrentDictionary<(string Type, string Name, string Version), XdsResource>? _previous;
    private ImmutableDictionary<string, HostEntries> _hosts;

    /// <summary>An empty cache for <paramref name="context"/>.</summary>
    public ResourceCache(PushContext context)
        : this(context, null, ImmutableDictionary.Create<string, HostEntries>(StringComparer.OrdinalIgnoreCase))
    {
    }

    private ResourceCache(PushContext context, ConcurrentDictionary<(string, string, string), XdsResource>? previous,
        ImmutableDictionary<string, HostEntries> hosts)
    {
        ArgumentNullException.ThrowIfNull(context);
        Context = context;
        _previous = previous;
        _hosts = hosts;
    }

    /// <summary>The context the cached resources were generated from.</summary>
    public PushContext Context { get; }

    /// <summary>How many distinct resources this push generated so far.</summary>
    public int Count => _interned.Count;

    /// <summary>The cache of the next push: resources are reused when their bytes are equal, and the memoised
    /// clusters and endpoints of hosts <paramref name="scope"/> does not invalidate are carried over.</summary>
    public ResourceCache Next(PushContext context, ChangeScope scope)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(scope);
        var hosts = Volatile.Read(ref _hosts);
        if (scope.Full)
        {
            hosts = hosts.Clear();
        }
        else
        {
            // O(hosts memoised) set lookups; the builder removes in O(invalidated · log n).
            var builder = hosts.ToBuilder();
            foreach (var host in hosts.Keys)
            {
                if (scope.Invalidates(host))
                {
                    builder.Remove(host);
                }
            }
            hosts = builder.ToImmutable();
        }
        return new ResourceCache(context, _interned, hosts);
    }

    /// <summary>The shared instance of <paramref name="message"/>: an equal resource (same type, name and content)
    /// generated earlier in this push or in the previous one, else a new one.</summary>
    public XdsResource Intern(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Intern(XdsResource.Create(message));
    }

    /// <summary>The shared instance equal to <paramref name="resource"/>.</summary>
    public XdsResource Intern(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var key = (resource.TypeUrl, resource.Name, resource.Version);
        if (_interned.TryGetValue(key, out var existing))
        {
            return existing;
        }
        if (_previous is not null && _previous.TryGetValue(key, out var earlier))
        {
            resource = earlier;
        }
        return _interned.GetOrAdd(key, resource);
    }

    /// <summary>Every resource of <paramref name="snapshot"/> replaced by its shared instance.</summary>
    public Snapshot Intern(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var builder = Snapshot.CreateBuilder(snapshot.Registry);
        foreach (var set in snapshot.ResourceSets)
        {
            builder.Include(set.TypeUrl);
            foreach (var resource in set)
            {
                builder.Add(Intern(resource));
            }
        }
        return builder.Build();
    }

    /// <summary>The outbound clusters of one service port for <paramref name="proxy"/> (memoised).</summary>
    public IReadOnlyList<XdsResource> OutboundClusters(Proxy proxy, DiscoveredService service, ServicePort port, string variant)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(port);
        var entries = EntriesOf(service.Hostname);
        var key = service.Key + "|" + port.Port + "|" + port.Name + "|" + variant;
        return entries.Clusters.GetOrAdd(key, _ =>
            [.. ClusterBuilder.BuildOutbound(Context, proxy, service, port).Select(Intern)]);
    }

    /// <summary>The ClusterLoadAssignment of one EDS cluster for <paramref name="proxy"/> (memoised).</summary>
    public XdsResource Assignment(Proxy proxy, string clusterName, string variant)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(clusterName);
        var entries = EntriesOf(HostOf(clusterName));
        return entries.Assignments.GetOrAdd(clusterName + "|" + variant, _ => Intern(EndpointBuilder.ForCluster(Context, proxy, clusterName)));
    }

    /// <summary>
    /// The memo key of what <paramref name="proxy"/> contributes to its outbound clusters and endpoints: namespace,
    /// type, address family and the selecting DestinationRules. Two proxies with equal variants get the same
    /// outbound clusters and endpoints.
    /// </summary>
    public string Variant(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var ipv4 = proxy.IpAddresses.Any(ip => IPAddress.TryParse(ip, out var a) && a.AddressFamily == AddressFamily.InterNetwork);
        return proxy.Namespace + "|" + proxy.Type + "|" + (ipv4 ? "4" : "6") + "|" + DestinationRuleSelection(Context, proxy);
    }

    /// <summary>The DestinationRules with a workload selector that select <paramref name="proxy"/> (namespace/name,
    /// comma-separated; empty when none does): the only way its labels change which rule applies
    /// (see <see cref="ClusterDestinationRules"/>).</summary>
    public static string DestinationRuleSelection(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var selecting = context.Memo("push.selector-destination-rules", static c =>
            c.Configs<DestinationRuleSpec>(IstioKinds.DestinationRule)
                .Where(r => r.Spec.WorkloadSelector?.MatchLabels is { Count: > 0 })
                .ToList());
        if (selecting.Count == 0)
        {
            return string.Empty;
        }
        var root = context.Options.RootNamespace;
        return string.Join(",", selecting
            .Where(r => (r.Object.Key.Namespace == proxy.Namespace || r.Object.Key.Namespace == root)
                && PushContext.Matches(r.Spec.WorkloadSelector!.MatchLabels, proxy.Labels))
            .Select(r => r.Object.Key.Namespace + "/" + r.Object.Key.Name));
    }

    /// <summary>The host of an <c>outbound|port|subset|host</c> cluster name (the name itself otherwise).</summary>
    public static string HostOf(string clusterName)
    {
        ArgumentNullException.ThrowIfNull(clusterName);
        var bar = clusterName.LastIndexOf('|');
        return bar < 0 ? clusterName : clusterName[(bar + 1)..];
    }

    /// <summary>Whether <paramref name="cluster"/> takes its endpoints over EDS, and under which name.</summary>
    public static bool IsEds(ClusterProto cluster, out string serviceName)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        serviceName = cluster.EdsClusterConfig is { ServiceName.Length: > 0 } eds ? eds.ServiceName : cluster.Name;
        return cluster.Type == ClusterProto.Types.DiscoveryType.Eds;
    }

    private HostEntries EntriesOf(string host)
    {
        while (true)
        {
            var hosts = Volatile.Read(ref _hosts);
            if (hosts.TryGetValue(host, out var entries))
            {
                return entries;
            }
            var added = hosts.Add(host, new HostEntries());
            if (ReferenceEquals(Interlocked.CompareExchange(ref _hosts, added, hosts), hosts))
            {
                return added[host];
            }
        }
    }

    private sealed class HostEntries
    {
        public ConcurrentDictionary<string, IReadOnlyList<XdsResource>> Clusters { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, XdsResource> Assignments { get; } = new(StringComparer.Ordinal);
    }
}
