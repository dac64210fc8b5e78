using System.Runtime.CompilerServices;
using System.Text.Json;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>What a push regenerates for one proxy (flags: a route and an endpoint change may come together).</summary>
[Flags]
public enum PushTypes
{
    /// <summary>Nothing it can see changed: it is not pushed.</summary>
    None = 0,

    /// <summary>Only the endpoints (ClusterLoadAssignments) of some clusters: an EDS-only push.</summary>
    Endpoints = 1,

    /// <summary>Its listeners and route configurations (a VirtualService changed); clusters and endpoints kept.</summary>
    Routes = 2,

    /// <summary>Everything is regenerated (unchanged resources still keep their instances and versions).</summary>
    Full = 4,
}

/// <summary>What one push does to one proxy, and why.</summary>
/// <param name="Types">What is regenerated.</param>
/// <param name="Reason">The short kind of the change that caused it (<c>Service</c>, <c>EndpointSlice</c>,
/// <c>VirtualService</c>, ...), <c>initial</c> for a proxy's first configuration, empty when not pushed.</param>
/// <param name="EndpointHosts">For <see cref="PushTypes.Endpoints"/>: the service hosts whose endpoints changed;
/// null means every host.</param>
public sealed record ProxyPush(PushTypes Types, string Reason, IReadOnlySet<string>? EndpointHosts = null)
{
    /// <summary>Not pushed.</summary>
    public static ProxyPush Skip { get; } = new(PushTypes.None, string.Empty);

    /// <summary>A full push for <paramref name="reason"/>.</summary>
    public static ProxyPush FullFor(string reason) => new(PushTypes.Full, reason);
}

/// <summary>
/// The merged registry changes of one debounce window, resolved into what they affect (istiod's
/// <c>ConfigsUpdated</c> + <c>ProxyNeedsPush</c>): service hosts whose definition changed, hosts whose endpoints
/// changed (EDS-only when no cluster depends on them otherwise), hosts named by changed DestinationRules and
/// VirtualServices, workloads (by address) that are proxies' own, Gateways' selectors, and the namespaces/selectors of
/// Sidecar, PeerAuthentication, RequestAuthentication and AuthorizationPolicy objects (the root namespace without a
/// selector means every proxy). <see cref="For"/> then decides per proxy.
/// </summary>
/// <remarks>
/// <para>Resolving the changes costs O(changed objects) (a changed Pod/WorkloadEntry also scans the services of its
/// namespace for selectors). Anything that cannot be resolved (an object in neither registry state, a spec that does
/// not parse) makes the push <see cref="Full"/>: correct first.</para>
/// <para>Still O(all proxies): <see cref="For"/> is called for every connected proxy, as istiod's
/// <c>ProxyNeedsPush</c> is. It is a few set lookups per changed key against the proxy's memoised visible-host set
/// (shared by every proxy of a namespace/Sidecar), so it costs microseconds per proxy, against the milliseconds a
/// generation costs; generation, serialization and the wire are what scale with the change.</para>
/// </remarks>
public sealed class ChangeScope
{
    private static readonly ConditionalWeakTable<IReadOnlyList<DiscoveredService>, HashSet<string>> VisibleHostSets = new();

    private readonly Dictionary<string, string> _serviceHosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _endpointHosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _ruleHosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _routeHosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly List<(string Namespace, IReadOnlyDictionary<string, string>? Selector, string Kind)> _scoped = [];
    private readonly List<IReadOnlyDictionary<string, string>> _gatewaySelectors = [];
    private readonly SortedSet<string> _kinds = new(StringComparer.Ordinal);
    private bool _allEndpoints;
    private bool _allRoutes;
    private bool _allGateways;

    private ChangeScope(int changedKeys) => ChangedKeys = changedKeys;

    /// <summary>Everything changed (the first push, or changes that could not be resolved).</summary>
    public bool Full { get; private set; }

    /// <summary>Why <see cref="Full"/> (a kind, or <c>initial</c>).</summary>
    public string FullReason { get; private set; } = string.Empty;

    /// <summary>How many registry objects changed in the window.</summary>
    public int ChangedKeys { get; }

    /// <summary>The short kinds of the changed objects, sorted.</summary>
    public IReadOnlyCollection<string> Kinds => _kinds;

    /// <summary>Whether the cached outbound clusters and endpoints of <paramref name="host"/> may no longer hold
    /// (<see cref="ResourceCache.Next"/> drops them).</summary>
    public bool Invalidates(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (Full || _allEndpoints || _serviceHosts.ContainsKey(host) || _endpointHosts.ContainsKey(host))
        {
            return true;
        }
        foreach (var rule in _ruleHosts)
        {
            if (RouteHosts.Matches(rule, host))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A scope in which everything changed.</summary>
    public static ChangeScope Everything(string reason, int changedKeys = 0) =>
        new(changedKeys) { Full = true, FullReason = reason };

    /// <summary>Resolves <paramref name="changes"/> between the registry states of <paramref name="before"/> and
    /// <paramref name="after"/>.</summary>
    public static ChangeScope From(IReadOnlyCollection<RegistryChange> changes, PushContext before, PushContext after)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var scope = new ChangeScope(changes.Count);
        foreach (var change in changes)
        {
            var kind = ShortKind(change.Key.Kind);
            scope._kinds.Add(kind);
            var old = before.Registry.Get(change.Key);
            var now = after.Registry.Get(change.Key);
            if (old is null && now is null)
            {
                // Added and removed between the two states, or applied out of step with the watch: unknown.
                return Everything(kind, changes.Count);
            }
            try
            {
                if (!scope.Add(kind, old, now, before, after))
                {
                    return Everything(kind, changes.Count);
                }
            }
            catch (FormatException)
            {
                return Everything(kind, changes.Count);
            }
            catch (JsonException)
            {
                return Everything(kind, changes.Count);
            }
        }
        return scope;
    }

    /// <summary>What this scope means for <paramref name="proxy"/>, whose configuration was generated from
    /// <paramref name="before"/>.</summary>
    public ProxyPush For(Proxy proxy, PushContext before, PushContext after)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (Full)
        {
            return ProxyPush.FullFor(FullReason);
        }
        foreach (var ip in proxy.IpAddresses)
        {
            if (_addresses.TryGetValue(ip, out var why))
            {
                return ProxyPush.FullFor(why);
            }
        }
        var root = after.Options.RootNamespace;
        foreach (var (ns, selector, kind) in _scoped)
        {
            if ((ns == root && selector is null) || ((ns == proxy.Namespace || ns == root) && PushContext.Matches(selector, proxy.Labels)))
            {
                return ProxyPush.FullFor(kind);
            }
        }
        if (proxy.Type == ProxyType.Router)
        {
            if (_allGateways)
            {
                return ProxyPush.FullFor("VirtualService");
            }
            foreach (var selector in _gatewaySelectors)
            {
                if (selector.Count > 0 && PushContext.Matches(selector, proxy.Labels))
                {
                    return ProxyPush.FullFor("Gateway");
                }
            }
        }

        var visibleNow = VisibleHosts(after, proxy);
        var visibleBefore = VisibleHosts(before, proxy);
        foreach (var (host, kind) in _serviceHosts)
        {
            if (visibleNow.Contains(host) || visibleBefore.Contains(host) || Serves(after, proxy, host) || Serves(before, proxy, host))
            {
                return ProxyPush.FullFor(kind);
            }
        }
        foreach (var host in _ruleHosts)
        {
            if (Sees(visibleNow, host) || Sees(visibleBefore, host) || Serves(after, proxy, host) || Serves(before, proxy, host))
            {
                return ProxyPush.FullFor("DestinationRule");
            }
        }

        var types = PushTypes.None;
        var reason = string.Empty;
        if (_allRoutes || _routeHosts.Any(h => Sees(visibleNow, h) || Sees(visibleBefore, h)))
        {
            types |= PushTypes.Routes;
            reason = "VirtualService";
        }
        HashSet<string>? endpoints = null;
        if (_allEndpoints)
        {
            types |= PushTypes.Endpoints;
            reason = reason.Length > 0 ? reason : "Node";
        }
        else
        {
            foreach (var (host, kind) in _endpointHosts)
            {
                if (visibleNow.Contains(host) || visibleBefore.Contains(host))
                {
                    (endpoints ??= new(StringComparer.OrdinalIgnoreCase)).Add(host);
                    reason = reason.Length > 0 ? reason : kind;
                }
            }
            if (endpoints is not null)
            {
                types |= PushTypes.Endpoints;
            }
        }
        if (types == PushTypes.None)
        {
            return ProxyPush.Skip;
        }
        // The proxyless generator is not incremental: whatever it sees changed, it is regenerated whole.
        return proxy.IsProxylessGrpc ? ProxyPush.FullFor(reason) : new ProxyPush(types, reason, endpoints);
    }

    /// <summary>The last segment of a registry kind (<c>networking.istio.io/VirtualService</c> → <c>VirtualService</c>).</summary>
    public static string ShortKind(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var slash = kind.LastIndexOf('/');
        return slash < 0 ? kind : kind[(slash + 1)..];
    }

    /// <summary>The host names of the services <paramref name="proxy"/> sees in <paramref name="context"/>, one set
    /// per <see cref="PushContext.VisibleServices"/> list (shared by the proxies of a namespace/Sidecar).</summary>
    public static IReadOnlySet<string> VisibleHosts(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        return VisibleHostSets.GetValue(context.VisibleServices(proxy),
            static list => new HashSet<string>(list.Select(s => s.Hostname), StringComparer.OrdinalIgnoreCase));
    }

    private static bool Sees(IReadOnlySet<string> visible, string pattern)
    {
        if (!RouteHosts.IsWildcard(pattern))
        {
            return visible.Contains(pattern);
        }
        foreach (var host in visible)
        {
            if (RouteHosts.Matches(pattern, host))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether one of the proxy's addresses is an endpoint of a service of <paramref name="host"/> (its own
    /// inbound side depends on the service).</summary>
    private static bool Serves(PushContext context, Proxy proxy, string host)
    {
        var index = context.Memo("push.hosts-by-address", static c =>
        {
            // O(endpoints) once per context, and only when a service or rule changed.
            var map = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var service in c.Services)
            {
                foreach (var endpoint in c.Registry.EndpointsOf(service.Key))
                {
                    if (!map.TryGetValue(endpoint.Address, out var hosts))
                    {
                        map[endpoint.Address] = hosts = new(StringComparer.OrdinalIgnoreCase);
                    }
                    hosts.Add(service.Hostname);
                }
            }
            return map;
        });
        foreach (var ip in proxy.IpAddresses)
        {
            if (index.TryGetValue(ip, out var hosts) && hosts.Any(h => RouteHosts.Matches(host, h)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Records one changed object; false when it cannot be resolved.</summary>
    private bool Add(string kind, RegistryObject? old, RegistryObject? now, PushContext before, PushContext after)
    {
        switch (now ?? old)
        {
            case DiscoveredService:
                foreach (var service in new[] { old, now }.OfType<DiscoveredService>())
                {
                    _serviceHosts.TryAdd(service.Hostname, kind);
                }
                return true;
            case EndpointGroup:
                {
                    var oldGroup = old as EndpointGroup;
                    var newGroup = now as EndpointGroup;
                    foreach (var address in ChangedAddresses(oldGroup?.Endpoints ?? [], newGroup?.Endpoints ?? []))
                    {
                        _addresses.TryAdd(address, kind);
                    }
                    foreach (var serviceKey in new[] { oldGroup?.Service, newGroup?.Service }.OfType<ObjectKey>().Distinct())
                    {
                        if (!EndpointsChanged(kind, serviceKey, before, after))
                        {
                            return false;
                        }
                    }
                    return true;
                }
            case Workload:
                {
                    var services = new HashSet<ObjectKey>();
                    foreach (var workload in new[] { old, now }.OfType<Workload>())
                    {
                        foreach (var address in workload.Addresses)
                        {
                            _addresses.TryAdd(address, kind);
                        }
                        foreach (var context in new[] { before, after })
                        {
                            foreach (var service in Selecting(context, workload))
                            {
                                services.Add(service);
                            }
                        }
                    }
                    foreach (var service in services)
                    {
                        if (!EndpointsChanged(kind, service, before, after))
                        {
                            return false;
                        }
                    }
                    return true;
                }
            case ConfigObject config when config.Key.Kind == RegistryKinds.Node:
                _allEndpoints = true;
                return true;
            case ConfigObject config:
                foreach (var item in new[] { old, now }.OfType<ConfigObject>())
                {
                    AddConfig(kind, item, after);
                }
                return true;
            default:
                return false;
        }
    }

    private void AddConfig(string kind, ConfigObject config, PushContext context)
    {
        var ns = config.Key.Namespace;
        switch (config.Key.Kind)
        {
            case IstioKinds.VirtualService:
                {
                    var spec = IstioJson.Read<VirtualServiceSpec>(config.Spec);
                    if (spec.Hosts.Count == 0)
                    {
                        _allRoutes = true; // a delegate: its parents are not looked up here
                    }
                    foreach (var host in spec.Hosts)
                    {
                        _routeHosts.Add(context.ResolveHost(host, ns));
                    }
                    if (spec.Gateways.Any(g => g != RouteVirtualServices.MeshGateway))
                    {
                        _allGateways = true;
                    }
                    break;
                }
            case IstioKinds.DestinationRule:
                {
                    var spec = IstioJson.Read<DestinationRuleSpec>(config.Spec);
                    if (!string.IsNullOrWhiteSpace(spec.Host))
                    {
                        _ruleHosts.Add(context.ResolveHost(spec.Host.Trim(), ns));
                    }
                    break;
                }
            case IstioKinds.Gateway:
                _gatewaySelectors.Add(IstioJson.Read<GatewaySpec>(config.Spec).Selector);
                break;
            case IstioKinds.Sidecar:
                _scoped.Add((ns, Selector(IstioJson.Read<SidecarSpec>(config.Spec).WorkloadSelector?.Labels), kind));
                break;
            case IstioKinds.PeerAuthentication:
                _scoped.Add((ns, Selector(IstioJson.Read<PeerAuthenticationSpec>(config.Spec).Selector?.MatchLabels), kind));
                break;
            case IstioKinds.AuthorizationPolicy:
                _scoped.Add((ns, Selector(IstioJson.Read<AuthorizationPolicySpec>(config.Spec).Selector?.MatchLabels), kind));
                break;
            case IstioKinds.RequestAuthentication:
                _scoped.Add((ns, null, kind));
                break;
            default:
                // Namespaces and kinds the generator does not read: no proxy can see them.
                break;
        }
    }

    private static IReadOnlyDictionary<string, string>? Selector(IReadOnlyDictionary<string, string>? labels) =>
        labels is { Count: > 0 } ? labels : null;

    /// <summary>Records that the endpoints of <paramref name="serviceKey"/> changed: EDS-only for a Kubernetes
    /// Service whose endpoints' service accounts (which its clusters name) stayed the same; a service change otherwise
    /// (a ServiceEntry's endpoints may be inline in its clusters, or decide whether it has any).</summary>
    private bool EndpointsChanged(string kind, ObjectKey serviceKey, PushContext before, PushContext after)
    {
        var oldService = before.Registry.Get<DiscoveredService>(serviceKey);
        var newService = after.Registry.Get<DiscoveredService>(serviceKey);
        if (oldService is null && newService is null)
        {
            return true; // endpoints of no service: nothing reads them
        }
        var edsOnly = serviceKey.Kind == RegistryKinds.Service && oldService is not null && newService is not null
            && ClusterBuilder.ServiceAccounts(before, oldService).SequenceEqual(ClusterBuilder.ServiceAccounts(after, newService), StringComparer.Ordinal);
        foreach (var service in new[] { oldService, newService }.OfType<DiscoveredService>())
        {
            if (edsOnly)
            {
                _endpointHosts.TryAdd(service.Hostname, kind);
            }
            else
            {
                _serviceHosts.TryAdd(service.Hostname, kind);
            }
        }
        return true;
    }

    /// <summary>The services of the workload's namespace whose selector picks it.</summary>
    private static IEnumerable<ObjectKey> Selecting(PushContext context, Workload workload)
    {
        var byNamespace = context.Memo("push.selecting-services", static c =>
            c.Services.Where(s => s.Selector.Count > 0).GroupBy(s => s.Key.Namespace, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal));
        return byNamespace.TryGetValue(workload.Key.Namespace, out var services)
            ? services.Where(s => PushContext.Matches(s.Selector, workload.Labels)).Select(s => s.Key)
            : [];
    }

    /// <summary>The addresses whose endpoint entry (ports) appeared, went or changed between two endpoint lists.</summary>
    private static IEnumerable<string> ChangedAddresses(IReadOnlyList<WorkloadEndpoint> old, IReadOnlyList<WorkloadEndpoint> now)
    {
        static HashSet<string> Entries(IReadOnlyList<WorkloadEndpoint> endpoints) =>
            [.. endpoints.Select(e => e.Address + "|" + string.Join(",", e.Ports.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)))];
        var a = Entries(old);
        a.SymmetricExceptWith(Entries(now));
        return a.Select(e => e[..e.IndexOf('|', StringComparison.Ordinal)]).Distinct(StringComparer.Ordinal);
    }
}
