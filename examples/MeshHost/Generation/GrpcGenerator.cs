using System.Globalization;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Cache;
using XdsServer.Discovery;
using Locality = XdsServer.Discovery.Locality;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using EndpointProto = Envoy.Config.Endpoint.V3.Endpoint;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;
using RouteProto = Envoy.Config.Route.V3.Route;
using VirtualHost = Envoy.Config.Route.V3.VirtualHost;

namespace MeshHost.Generation;

/// <summary>
/// The configuration of a proxyless gRPC client (node metadata <c>GENERATOR: grpc</c>), as istiod's <c>grpc</c>
/// generator gives it: per visible service port an api_listener named <c>&lt;host&gt;:&lt;port&gt;</c> whose
/// HTTP connection manager takes the route configuration <c>outbound|&lt;port&gt;||&lt;fqdn&gt;</c> by RDS over
/// ADS, with the fault and router filters (router last); that route configuration holds the service port's
/// virtual host; and EDS clusters (over ADS) with their endpoints.
/// </summary>
/// <remarks>
/// <para>Built on the sidecar builders: <see cref="RouteBuilder.BuildVirtualHost"/> for routes,
/// <see cref="ClusterBuilder.BuildOutbound"/> for the cluster names and load balancing, <see cref="EndpointBuilder"/>
/// for endpoints. Where a builder gives nothing for a service port (a route-less virtual host, no clusters, no
/// endpoints of a cluster), this generator fills in the plain form itself: a default route to
/// <c>outbound|port||host</c>, an EDS cluster per cluster the routes name, and the endpoints of the service (or
/// of the DestinationRule subset the cluster name says). So the proxyless demo works with any of them.</para>
/// <para>Differences from istiod, on purpose: istiod builds only the listener names a client asks for (expanding
/// short names relative to the client's namespace); a snapshot cache serves what a client asks for from a fixed set,
/// so this generator builds every name istiod would accept: the FQDN form for every service, and for the services of
/// the client's own namespace also <c>name</c>, <c>name.ns</c> and <c>name.ns.svc</c>. Clusters carry no transport
/// socket: proxyless clients get plaintext configuration in this version (istiod sets TLS only when a
/// DestinationRule asks for ISTIO_MUTUAL, with certificate providers the gRPC bootstrap must name). Server-side
/// listeners (<c>xds.istio.io/grpc/lds/inbound/...</c>) come from <see cref="GrpcInbound"/>.</para>
/// <para>Per-client forms (<see cref="GrpcClient"/>): a client older than gRFC A63 (C-core before 1.56, such as
/// python3-grpcio 1.51 and Grpc.Core 2.46) NACKs a header matcher written as <c>string_match</c>, so its route
/// configurations carry the deprecated matcher fields instead.</para>
/// </remarks>
public static class GrpcGenerator
{
    /// <summary>The HTTP filters istiod gives proxyless listeners, in order: fault, then the router (gRPC requires
    /// the router last).</summary>
    private static readonly string[] FilterNames = ["envoy.filters.http.fault", "envoy.filters.http.router"];

    /// <summary>The snapshot of the proxyless gRPC client <paramref name="proxy"/>.</summary>
    public static Snapshot Generate(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var listeners = new Dictionary<string, ListenerProto>(StringComparer.Ordinal);
        var routes = new Dictionary<string, RouteConfiguration>(StringComparer.Ordinal);
        var clusters = new Dictionary<string, ClusterProto>(StringComparer.Ordinal);
        var referenced = new List<string>();
        var client = GrpcClient.Of(proxy);

        foreach (var service in context.VisibleServices(proxy))
        {
            foreach (var port in service.Ports)
            {
                if (port.Protocol == ServicePortProtocol.Udp)
                {
                    continue;
                }
                var routeName = MeshNames.OutboundCluster(port.Port, null, service.Hostname);
                if (routes.ContainsKey(routeName))
                {
                    continue; // the same host and port from a second service (a ServiceEntry elsewhere): the first wins
                }
                var names = ListenerHosts(context, proxy, service).Select(h => HostPort(h, port.Port)).ToList();
                foreach (var name in names)
                {
                    listeners.TryAdd(name, Listener(name, routeName));
                }

                var host = RouteBuilder.BuildVirtualHost(context, proxy, service, port).Clone();
                if (host.Routes.Count == 0)
                {
                    host.Routes.Add(DefaultRoute(routeName));
                }
                // gRPC picks the virtual host by the channel's authority, which is the listener name asked for.
                foreach (var name in names.Where(n => !host.Domains.Contains(n)))
                {
                    host.Domains.Add(name);
                }
                routes[routeName] = client.Adapt(new RouteConfiguration { Name = routeName, VirtualHosts = { host } });
                referenced.Add(routeName);
                referenced.AddRange(ClustersOf(host));

                foreach (var cluster in ClusterBuilder.BuildOutbound(context, proxy, service, port))
                {
                    clusters.TryAdd(cluster.Name, ForGrpc(cluster));
                }
            }
        }

        // Every cluster a route names must exist, or gRPC fails the calls routed to it.
        foreach (var name in referenced.Where(n => !clusters.ContainsKey(n)))
        {
            if (TryParseOutbound(name, out _, out _, out _))
            {
                clusters[name] = EdsCluster(name, ClusterProto.Types.LbPolicy.RoundRobin);
            }
        }

        foreach (var inbound in GrpcInbound.Build(context, proxy))
        {
            listeners.TryAdd(inbound.Name, inbound);
        }

        var clusterList = clusters.Values.ToList();
        var endpoints = new Dictionary<string, ClusterLoadAssignment>(StringComparer.Ordinal);
        foreach (var assignment in EndpointBuilder.Build(context, proxy, clusterList))
        {
            endpoints.TryAdd(assignment.ClusterName, ForGrpc(assignment));
        }
        foreach (var cluster in clusterList)
        {
            var serviceName = cluster.EdsClusterConfig.ServiceName;
            if (!endpoints.ContainsKey(serviceName))
            {
                endpoints[serviceName] = Endpoints(context, proxy, serviceName);
            }
        }

        return Snapshot.CreateBuilder()
            .Include(TypeUrls.Cluster).Include(TypeUrls.ClusterLoadAssignment)
            .Include(TypeUrls.Listener).Include(TypeUrls.RouteConfiguration)
            .Add(listeners.Values).Add(routes.Values).Add(clusterList).Add(endpoints.Values)
            .Build();
    }

    /// <summary>The host names a client may use for <paramref name="service"/>: its FQDN, and for a Kubernetes
    /// service of the client's own namespace the short forms istiod expands (<c>name</c>, <c>name.ns</c>,
    /// <c>name.ns.svc</c>).</summary>
    public static IReadOnlyList<string> ListenerHosts(PushContext context, Proxy proxy, DiscoveredService service)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        List<string> hosts = [service.Hostname];
        var suffix = $".{proxy.Namespace}.svc.{proxy.DomainSuffix(context.Options.Domain)}";
        if (service.Key.Kind == RegistryKinds.Service && service.Key.Namespace == proxy.Namespace
            && service.Hostname.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
        {
            var name = service.Hostname[..^suffix.Length];
            hosts.AddRange([name, $"{name}.{proxy.Namespace}", $"{name}.{proxy.Namespace}.svc"]);
        }
        return hosts;
    }

    private static string HostPort(string host, int port) =>
        string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    private static ListenerProto Listener(string name, string routeName)
    {
        var hcm = new HttpConnectionManager
        {
            Rds = new Rds { RouteConfigName = routeName, ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
        };
        hcm.HttpFilters.Add(new HttpFilter { Name = FilterNames[0], TypedConfig = Any.Pack(new Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault()) });
        hcm.HttpFilters.Add(new HttpFilter { Name = FilterNames[1], TypedConfig = Any.Pack(new Envoy.Extensions.Filters.Http.Router.V3.Router()) });
        // istiod also sets the listener's address (the service VIP and port). gRPC C-core 1.46 (Grpc.Core) rejects
        // a listener with both an address and an api_listener ("Listener has both address and ApiListener"), and
        // no gRPC client reads it, so it is left out.
        return new ListenerProto
        {
            Name = name,
            ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) },
        };
    }

    private static RouteProto DefaultRoute(string cluster) => new()
    {
        Name = "default",
        Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" },
        Route_ = new Envoy.Config.Route.V3.RouteAction { Cluster = cluster },
    };

    private static IEnumerable<string> ClustersOf(VirtualHost host)
    {
        foreach (var route in host.Routes)
        {
            if (route.Route_ is not { } action)
            {
                continue;
            }
            if (action.Cluster.Length > 0)
            {
                yield return action.Cluster;
            }
            if (action.WeightedClusters is { } weighted)
            {
                foreach (var c in weighted.Clusters)
                {
                    yield return c.Name;
                }
            }
        }
    }

    /// <summary>A sidecar cluster as a gRPC client takes it (istiod's grpcgen <c>edsCluster</c>): EDS over ADS with
    /// the cluster's name as service name, whatever the sidecar's discovery type, and only the load balancing gRPC
    /// implements. grpc-js rejects any lb_policy but ROUND_ROBIN and RING_HASH (and so do C-core 1.46 and 1.51), so
    /// LEAST_REQUEST, RANDOM and MAGLEV become ROUND_ROBIN (istiod warns and leaves the default). No transport socket (plaintext, see the class).</summary>
    private static ClusterProto ForGrpc(ClusterProto cluster)
    {
        if (cluster.LbPolicy == ClusterProto.Types.LbPolicy.RingHash)
        {
            var ring = EdsCluster(cluster.Name, ClusterProto.Types.LbPolicy.RingHash);
            ring.RingHashLbConfig = cluster.RingHashLbConfig?.Clone();
            return ring;
        }
        return EdsCluster(cluster.Name, ClusterProto.Types.LbPolicy.RoundRobin);
    }

    private static ClusterProto EdsCluster(string name, ClusterProto.Types.LbPolicy policy) => new()
    {
        Name = name,
        Type = ClusterProto.Types.DiscoveryType.Eds,
        LbPolicy = policy,
        EdsClusterConfig = new ClusterProto.Types.EdsClusterConfig
        {
            ServiceName = name,
            EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() },
        },
    };

    /// <summary>gRPC ignores a locality without a load-balancing weight: give each one the sum of its endpoints'
    /// weights when the builder left it out.</summary>
    private static ClusterLoadAssignment ForGrpc(ClusterLoadAssignment assignment)
    {
        if (assignment.Endpoints.All(l => l.LoadBalancingWeight is > 0))
        {
            return assignment;
        }
        var copy = assignment.Clone();
        foreach (var locality in copy.Endpoints.Where(l => l.LoadBalancingWeight is null or 0))
        {
            locality.LoadBalancingWeight = (uint)Math.Max(1, locality.LbEndpoints.Sum(e => (long)(e.LoadBalancingWeight ?? 1)));
        }
        return copy;
    }

    /// <summary>Reads <c>outbound|port|subset|host</c>.</summary>
    private static bool TryParseOutbound(string name, out int port, out string subset, out string host)
    {
        var parts = name.Split('|');
        port = 0;
        subset = host = string.Empty;
        if (parts.Length != 4 || parts[0] != "outbound" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out port) || parts[3].Length == 0)
        {
            return false;
        }
        subset = parts[2];
        host = parts[3];
        return true;
    }

    /// <summary>The endpoints of an outbound cluster, from its name: the ready endpoints of the service port, those
    /// of the DestinationRule subset when the name has one, grouped by locality. IP addresses only (gRPC does not
    /// resolve endpoint host names). Used only when <see cref="EndpointBuilder"/> gave none for the cluster.</summary>
    private static ClusterLoadAssignment Endpoints(PushContext context, Proxy proxy, string clusterName)
    {
        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        if (!TryParseOutbound(clusterName, out var portNumber, out var subset, out var hostname))
        {
            return assignment;
        }
        var service = context.ServicesByHost(hostname).FirstOrDefault(s => PushContext.IsExportedTo(s, proxy.Namespace));
        var port = service?.Ports.FirstOrDefault(p => p.Port == portNumber);
        if (service is null || port is null)
        {
            return assignment;
        }
        IReadOnlyDictionary<string, string>? selector = null;
        if (subset.Length > 0 && (selector = SubsetLabels(context, proxy, service, subset)) is null)
        {
            return assignment; // no such subset: no endpoints, as istiod
        }

        var seen = new HashSet<(string, int)>();
        var localities = new Dictionary<Locality, LocalityLbEndpoints>();
        foreach (var endpoint in context.Registry.EndpointsOf(service.Key))
        {
            var target = endpoint.Ports.TryGetValue(port.Name, out var p) ? p : port.TargetPort > 0 ? port.TargetPort : port.Port;
            if (!endpoint.Ready || endpoint.Terminating || !System.Net.IPAddress.TryParse(endpoint.Address, out _)
                || !PushContext.Matches(selector, LabelsOf(context, endpoint)) || !seen.Add((endpoint.Address, target)))
            {
                continue;
            }
            var locality = context.Registry.LocalityOf(endpoint);
            if (!localities.TryGetValue(locality, out var group))
            {
                localities[locality] = group = new LocalityLbEndpoints
                {
                    Locality = new Envoy.Config.Core.V3.Locality { Region = locality.Region, Zone = locality.Zone, SubZone = locality.Subzone },
                    LoadBalancingWeight = 0,
                };
                assignment.Endpoints.Add(group);
            }
            group.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new EndpointProto { Address = new Address { SocketAddress = new SocketAddress { Address = endpoint.Address, PortValue = (uint)target } } },
                LoadBalancingWeight = 1,
            });
            group.LoadBalancingWeight += 1;
        }
        return assignment;
    }

    /// <summary>An endpoint's labels: its own, else those of the workload it names (an EndpointSlice's Pod).</summary>
    private static IReadOnlyDictionary<string, string> LabelsOf(PushContext context, WorkloadEndpoint endpoint) =>
        endpoint.Labels.Count == 0 && endpoint.Workload is { } key && context.Registry.Get<Workload>(key) is { } workload
            ? workload.Labels
            : endpoint.Labels;

    /// <summary>The labels of subset <paramref name="subset"/> in the DestinationRule for the service's host, looked
    /// up as istiod does: the client's namespace, then the service's, then the root namespace. Null when none names
    /// it.</summary>
    private static Dictionary<string, string>? SubsetLabels(PushContext context, Proxy proxy, DiscoveredService service, string subset)
    {
        var rules = context.Registry.OfKind(IstioKinds.DestinationRule).OfType<ConfigObject>()
            .Where(r => r.Spec.ValueKind == JsonValueKind.Object && r.Spec.TryGetProperty("host", out var h) && h.ValueKind == JsonValueKind.String
                && string.Equals(context.ResolveHost(h.GetString()!, r.Key.Namespace), service.Hostname, StringComparison.OrdinalIgnoreCase))
            .OrderBy(r => r.Key.Namespace == proxy.Namespace ? 0 : r.Key.Namespace == service.Key.Namespace ? 1 : r.Key.Namespace == context.Options.RootNamespace ? 2 : 3)
            .ThenBy(r => r.Key.Namespace, StringComparer.Ordinal).ThenBy(r => r.Key.Name, StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (!rule.Spec.TryGetProperty("subsets", out var subsets) || subsets.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            foreach (var s in subsets.EnumerateArray())
            {
                if (s.ValueKind == JsonValueKind.Object && s.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == subset)
                {
                    var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                    if (s.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var label in l.EnumerateObject().Where(x => x.Value.ValueKind == JsonValueKind.String))
                        {
                            labels[label.Name] = label.Value.GetString()!;
                        }
                    }
                    return labels;
                }
            }
            return null; // the rule that applies does not name the subset
        }
        return null;
    }
}
