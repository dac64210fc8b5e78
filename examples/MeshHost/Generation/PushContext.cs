using System.Collections.Concurrent;
using System.Text.Json;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>A service port one of the proxy's own workloads serves: the inbound side of a sidecar.</summary>
/// <param name="Service">The service.</param>
/// <param name="Port">The service port.</param>
/// <param name="TargetPort">The port the workload listens on for it.</param>
/// <param name="Endpoint">The proxy's endpoint in the service.</param>
public sealed record ServiceTarget(DiscoveredService Service, ServicePort Port, int TargetPort, WorkloadEndpoint Endpoint);

/// <summary>
/// Everything one registry snapshot means for config generation, indexed once and shared by every proxy's
/// generation (istiod's PushContext): services by host, parsed Istio objects, and the problems found in them.
/// Immutable once built, except for memoised parses; safe to use from several threads.
/// </summary>
public sealed partial class PushContext
{
    private readonly ConcurrentDictionary<string, object> _parsed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ConfigProblem, byte> _problems = new();
    private readonly Dictionary<string, List<DiscoveredService>> _byHost;

    /// <summary>Indexes <paramref name="registry"/>.</summary>
    public PushContext(RegistrySnapshot registry, MeshOptions options)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        Registry = registry;
        Options = options;
        // Kubernetes Services before ServiceEntries of the same host, then by namespace: one stable order.
        Services = [.. registry.Services
            .OrderBy(s => s.Hostname, StringComparer.Ordinal)
            .ThenBy(s => s.Key.Kind == RegistryKinds.Service ? 0 : 1)
            .ThenBy(s => s.Key.Namespace, StringComparer.Ordinal)
            .ThenBy(s => s.Key.Name, StringComparer.Ordinal)];
        _byHost = new(StringComparer.OrdinalIgnoreCase);
        foreach (var service in Services)
        {
            if (!_byHost.TryGetValue(service.Hostname, out var list))
            {
                _byHost[service.Hostname] = list = [];
            }
            list.Add(service);
        }
    }

    /// <summary>The registry state this context was built from.</summary>
    public RegistrySnapshot Registry { get; }

    /// <summary>The mesh-wide settings.</summary>
    public MeshOptions Options { get; }

    /// <summary>The registry generation (a version for what is generated from it).</summary>
    public long Generation => Registry.Generation;

    /// <summary>Every service, ordered by host name.</summary>
    public IReadOnlyList<DiscoveredService> Services { get; }

    /// <summary>The problems found so far in Istio objects (reported once each).</summary>
    public IReadOnlyCollection<ConfigProblem> Problems => [.. _problems.Keys.OrderBy(p => p.ToString(), StringComparer.Ordinal)];

    /// <summary>Records that <paramref name="key"/> is (partly) unusable.</summary>
    public void Report(ObjectKey key, string reason) => _problems.TryAdd(new ConfigProblem(key, reason), 0);

    /// <summary>The services with this host name (several: ServiceEntries in different namespaces).</summary>
    public IReadOnlyList<DiscoveredService> ServicesByHost(string hostname) =>
        _byHost.TryGetValue(hostname, out var list) ? list : [];

    /// <summary>Istio's short-name rule: a host without a dot means <c>&lt;host&gt;.&lt;namespace&gt;.svc.&lt;domain&gt;</c>
    /// of the namespace the config (or proxy) lives in; anything else (including wildcards) is taken as written.</summary>
    public string ResolveHost(string host, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host.Length == 0 || host[0] == '*' || host.Contains('.', StringComparison.Ordinal))
        {
            return host;
        }
        return $"{host}.{@namespace}.svc.{Options.Domain}";
    }

    /// <summary>Every object of an Istio kind with its parsed spec, ordered oldest first (by namespace/name when
    /// equal) as istiod orders conflicting config. Parsed once per context; an object whose spec does not parse is
    /// reported and left out.</summary>
    public IReadOnlyList<(ConfigObject Object, T Spec)> Configs<T>(string kind)
        where T : class, new()
    {
        var key = kind + "|" + typeof(T).FullName;
        return (IReadOnlyList<(ConfigObject, T)>)_parsed.GetOrAdd(key, _ =>
        {
            var result = new List<(ConfigObject, T)>();
            foreach (var obj in Registry.OfKind(kind).OfType<ConfigObject>()
                .OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal))
            {
                try
                {
                    result.Add((obj, IstioJson.Read<T>(obj.Spec)));
                }
                catch (FormatException e)
                {
                    Report(obj.Key, e.Message);
                }
            }
            return result;
        });
    }

    /// <summary>Memoises any derived index of this context under <paramref name="key"/>.</summary>
    public T Memo<T>(string key, Func<PushContext, T> build)
        where T : class =>
        (T)_parsed.GetOrAdd("memo|" + key, _ => build(this));

    /// <summary>Whether every selector label is among <paramref name="labels"/> (an empty selector matches all).</summary>
    public static bool Matches(IReadOnlyDictionary<string, string>? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is null)
        {
            return true;
        }
        foreach (var (k, v) in selector)
        {
            if (!labels.TryGetValue(k, out var actual) || !string.Equals(actual, v, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The service ports the proxy's own workload serves: its addresses among the services' endpoints.</summary>
    /// <remarks>Computed once per context and address set (it scans every service's endpoints) and shared by the
    /// cluster, listener and gateway builders that ask for it.</remarks>
    public IReadOnlyList<ServiceTarget> ServiceTargets(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        return Memo("service-targets|" + string.Join(',', proxy.IpAddresses), _ => FindServiceTargets(proxy.IpAddresses));
    }

    private List<ServiceTarget> FindServiceTargets(IReadOnlyList<string> addresses)
    {
        var targets = new List<ServiceTarget>();
        foreach (var service in Services)
        {
            foreach (var endpoint in Registry.EndpointsOf(service.Key))
            {
                if (!addresses.Contains(endpoint.Address, StringComparer.Ordinal))
                {
                    continue;
                }
                foreach (var port in service.Ports)
                {
                    var target = endpoint.Ports.TryGetValue(port.Name, out var p) ? p : port.TargetPort;
                    if (target > 0 && !targets.Any(t => t.Service == service && t.Port == port))
                    {
                        targets.Add(new ServiceTarget(service, port, target, endpoint));
                    }
                }
            }
        }
        return targets;
    }

    /// <summary>The registry's workload at the proxy's address (a Pod or WorkloadEntry), preferring the one named
    /// like the proxy's pod.</summary>
    public Workload? WorkloadOf(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var candidates = proxy.IpAddresses.SelectMany(Registry.WorkloadsAt).ToList();
        return candidates.FirstOrDefault(w => w.Key.Name == proxy.PodName && w.Key.Namespace == proxy.Namespace)
            ?? candidates.FirstOrDefault(w => w.Key.Namespace == proxy.Namespace)
            ?? candidates.FirstOrDefault();
    }

    /// <summary>The port a gateway proxy listens on for a Gateway server, as istiod resolves it: the target port of
    /// the proxy's own service port numbered like the server (a gateway Service mapping 80 to 8080 gives 8080, so
    /// <c>0.0.0.0_8080</c> and <c>http.8080</c>), else the server's deprecated <c>targetPort</c>, else its number.</summary>
    public int GatewayListenPort(Proxy proxy, GatewayServer server)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(server);
        var number = server.Port.Number;
        foreach (var target in ServiceTargets(proxy))
        {
            if (target.Port.Port == number)
            {
                return target.TargetPort;
            }
        }
        return server.Port.TargetPort is int t && t > 0 ? t : number;
    }

    /// <summary>The Gateways whose selector picks this (router) proxy, with their parsed specs.</summary>
    public IReadOnlyList<(ConfigObject Object, GatewaySpec Spec)> GatewaysOf(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        return [.. Configs<GatewaySpec>(IstioKinds.Gateway).Where(g => g.Spec.Selector.Count > 0 && Matches(g.Spec.Selector, proxy.Labels))];
    }
}
