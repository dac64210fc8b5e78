using System.Globalization;
using System.Net;
using SocketAddress = Envoy.Config.Core.V3.SocketAddress;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Model;
using XdsServer.Discovery;
using ClusterLoadAssignment = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using EndpointProto = Envoy.Config.Endpoint.V3.Endpoint;
using LocalityProto = Envoy.Config.Core.V3.Locality;

namespace MeshHost.Generation;

/// <summary>What the generator knows of one endpoint: the registry's endpoint completed with its workload's labels,
/// service account and mTLS mode when the endpoint itself lacks them (an EndpointSlice names only the pod).</summary>
/// <param name="Endpoint">The registry endpoint.</param>
/// <param name="Labels">The workload's labels.</param>
/// <param name="ServiceAccount">The workload's service account, if known.</param>
/// <param name="TlsMode"><c>istio</c> or <c>disabled</c>.</param>
/// <param name="Workload">The owning workload, if known.</param>
public sealed record EndpointView(WorkloadEndpoint Endpoint, IReadOnlyDictionary<string, string> Labels, string? ServiceAccount, string TlsMode, Workload? Workload);

/// <summary>
/// Builds the ClusterLoadAssignment of every EDS cluster of a proxy, as istiod's EndpointBuilder
/// (pilot/pkg/xds/endpoints): the service's endpoints on the cluster's port, those of the subset's labels, grouped by
/// locality (sorted by <c>region/zone/subzone</c>), each locality weighted by the sum of its endpoints' weights (1
/// each). Choice: endpoints that are not ready or are terminating are left out, as istiod does by default (it sends
/// draining ones only to persistent-session services). An endpoint carries <c>envoy.transport_socket_match</c>
/// metadata <c>{tlsMode: istio}</c> only when its workload takes mTLS (istiod leaves <c>disabled</c> ones without,
/// and the cluster's <c>tlsMode-disabled</c> match, <c>{}</c>, takes them), and <c>istio</c> metadata
/// <c>workload: name;namespace;canonical-name;canonical-revision;cluster</c> when its workload is known.
/// </summary>
public static class EndpointBuilder
{
    /// <summary>The cluster ID istiod gives its own Kubernetes cluster (endpoint telemetry metadata).</summary>
    public const string ClusterId = "Kubernetes";

    /// <summary>The endpoints of the EDS clusters among <paramref name="clusters"/>.</summary>
    public static IReadOnlyList<ClusterLoadAssignment> Build(PushContext context, Proxy proxy, IReadOnlyList<ClusterProto> clusters)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(clusters);
        var result = new List<ClusterLoadAssignment>();
        foreach (var cluster in clusters)
        {
            if (cluster.Type != ClusterProto.Types.DiscoveryType.Eds)
            {
                continue;
            }
            var name = cluster.EdsClusterConfig is { ServiceName.Length: > 0 } eds ? eds.ServiceName : cluster.Name;
            result.Add(ForCluster(context, proxy, name));
        }
        return result;
    }

    /// <summary>The assignment of one <c>outbound|port|subset|host</c> cluster as <paramref name="proxy"/> sees it;
    /// empty (not an error) when the service, port or subset is unknown or has no endpoints.</summary>
    public static ClusterLoadAssignment ForCluster(PushContext context, Proxy proxy, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(clusterName);
        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        var parts = clusterName.Split('|');
        if (parts.Length != 4 || parts[0] != "outbound"
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var portNumber))
        {
            return assignment;
        }
        var service = ClusterDestinationRules.ServiceFor(context, proxy, parts[3]);
        var port = service?.Ports.FirstOrDefault(p => p.Port == portNumber);
        if (service is null || port is null)
        {
            return assignment;
        }
        IReadOnlyDictionary<string, string>? labels = null;
        if (parts[2].Length > 0)
        {
            var rule = ClusterDestinationRules.For(context, proxy, service.Hostname, service.Key.Namespace);
            var subset = rule is null ? null : ClusterDestinationRules.Subsets(rule.Spec).FirstOrDefault(s => s.Name == parts[2]);
            if (subset is null)
            {
                return assignment;
            }
            labels = subset.Labels;
        }
        assignment.Endpoints.AddRange(LocalityEndpoints(context, service, port, labels, dns: false));
        return assignment;
    }

    /// <summary>The endpoints of <paramref name="service"/> on <paramref name="port"/> (of a subset, when
    /// <paramref name="subsetLabels"/> is given) grouped by locality. For an EDS cluster only IP addresses are kept;
    /// for a DNS cluster (<paramref name="dns"/>) host names are too, and a DNS ServiceEntry without endpoints
    /// resolves its own host name.</summary>
    public static List<LocalityLbEndpoints> LocalityEndpoints(PushContext context, DiscoveredService service, ServicePort port,
        IReadOnlyDictionary<string, string>? subsetLabels, bool dns)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(port);
        var byLocality = new SortedDictionary<string, (LocalityProto Locality, List<LbEndpoint> Endpoints)>(StringComparer.Ordinal);
        var registryEndpoints = context.Registry.EndpointsOf(service.Key).ToList();
        if (dns && registryEndpoints.Count == 0 && !service.Hostname.StartsWith('*'))
        {
            var target = port.TargetPort > 0 ? port.TargetPort : port.Port;
            if (subsetLabels is null || subsetLabels.Count == 0)
            {
                byLocality[string.Empty] = (new LocalityProto(), [LbEndpointOf(service.Hostname, target, null)]);
            }
        }
        foreach (var endpoint in registryEndpoints
            .OrderBy(e => e.Address, StringComparer.Ordinal)
            .ThenBy(e => e.Workload?.ToString(), StringComparer.Ordinal))
        {
            if (!endpoint.Ready || endpoint.Terminating)
            {
                continue;
            }
            var view = View(context, endpoint);
            if (subsetLabels is not null && !PushContext.Matches(subsetLabels, view.Labels))
            {
                continue;
            }
            var target = endpoint.Ports.TryGetValue(port.Name, out var p) ? p : port.TargetPort;
            if (target <= 0 || (!dns && !IPAddress.TryParse(endpoint.Address, out _)))
            {
                continue;
            }
            var locality = context.Registry.LocalityOf(endpoint);
            var key = $"{locality.Region}/{locality.Zone}/{locality.Subzone}";
            if (!byLocality.TryGetValue(key, out var group))
            {
                byLocality[key] = group = (new LocalityProto { Region = locality.Region, Zone = locality.Zone, SubZone = locality.Subzone }, []);
            }
            group.Endpoints.Add(LbEndpointOf(endpoint.Address, target, view));
        }

        var result = new List<LocalityLbEndpoints>();
        foreach (var (_, (locality, endpoints)) in byLocality)
        {
            var weight = 0u;
            foreach (var endpoint in endpoints)
            {
                weight = weight > uint.MaxValue - (endpoint.LoadBalancingWeight ?? 1) ? uint.MaxValue : weight + (endpoint.LoadBalancingWeight ?? 1);
            }
            var group = new LocalityLbEndpoints { Locality = locality, LoadBalancingWeight = weight };
            group.LbEndpoints.AddRange(endpoints);
            result.Add(group);
        }
        return result;
    }

    /// <summary>An endpoint completed from its workload (labels, service account, mTLS mode).</summary>
    public static EndpointView View(PushContext context, WorkloadEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(endpoint);
        var workload = endpoint.Workload is { } key ? context.Registry.Get<Workload>(key) : null;
        var labels = endpoint.Labels.Count > 0 || workload is null ? endpoint.Labels : workload.Labels;
        var serviceAccount = endpoint.ServiceAccount ?? workload?.ServiceAccount;
        var tlsMode = endpoint.TlsMode == "istio" || workload?.TlsMode == "istio" ? "istio" : endpoint.TlsMode;
        return new EndpointView(endpoint, labels, serviceAccount, tlsMode, workload);
    }

    private static LbEndpoint LbEndpointOf(string address, int port, EndpointView? view)
    {
        var lb = new LbEndpoint
        {
            Endpoint = new EndpointProto { Address = new Address { SocketAddress = new SocketAddress { Address = address, PortValue = (uint)port } } },
            HealthStatus = HealthStatus.Healthy,
            LoadBalancingWeight = 1,
            Metadata = new Metadata(),
        };
        if (view is null)
        {
            return lb;
        }
        if (view.TlsMode == "istio")
        {
            lb.Metadata.FilterMetadata["envoy.transport_socket_match"] = new Struct { Fields = { [MeshNames.TlsModeMatchKey] = Value.ForString("istio") } };
        }
        if (view.Endpoint.Workload is { } workload)
        {
            lb.Metadata.FilterMetadata["istio"] = new Struct { Fields = { ["workload"] = Value.ForString(WorkloadMetadata(workload, view.Labels)) } };
        }
        return lb;
    }

    /// <summary>istiod's compressed endpoint telemetry metadata:
    /// <c>name;namespace;canonical-service;canonical-revision;cluster</c>.</summary>
    public static string WorkloadMetadata(ObjectKey workload, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(labels);
        string? Label(params string[] keys) => keys.Select(k => labels.TryGetValue(k, out var v) && v.Length > 0 ? v : null).FirstOrDefault(v => v is not null);
        var canonical = Label("service.istio.io/canonical-name", "app.kubernetes.io/name", "app") ?? workload.Name;
        var revision = Label("service.istio.io/canonical-revision", "app.kubernetes.io/version", "version") ?? "latest";
        return $"{workload.Name};{workload.Namespace};{canonical};{revision};{ClusterId}";
    }
}
