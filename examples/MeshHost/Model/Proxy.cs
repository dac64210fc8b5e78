using System.Collections.Frozen;
using System.Net;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;

namespace MeshHost.Model;

/// <summary>What kind of Envoy a node is, from the first field of its Istio node id.</summary>
public enum ProxyType
{
    /// <summary><c>sidecar</c>: an Envoy next to a workload (or a proxyless gRPC client, by its <c>GENERATOR</c>).</summary>
    Sidecar,

    /// <summary><c>router</c>: a gateway.</summary>
    Router,
}

/// <summary>
/// A connected proxy as istiod recognises it: the node id <c>type~ip~pod.namespace~namespace.svc.domain</c> and the
/// node metadata istio-agent sends (<c>NAMESPACE</c>, <c>SERVICE_ACCOUNT</c>, <c>LABELS</c>, <c>INSTANCE_IPS</c>,
/// <c>CLUSTER_ID</c>, <c>ISTIO_VERSION</c>, <c>GENERATOR</c>). Metadata wins over what the id implies.
/// </summary>
public sealed record Proxy
{
    /// <summary>The node id as sent.</summary>
    public required string NodeId { get; init; }

    /// <summary>Sidecar or router.</summary>
    public required ProxyType Type { get; init; }

    /// <summary>The workload's addresses: <c>INSTANCE_IPS</c>, else the id's IP field. Never empty.</summary>
    public required IReadOnlyList<string> IpAddresses { get; init; }

    /// <summary>The pod (or workload) name: the id's <c>pod.namespace</c> field before the last dot.</summary>
    public required string PodName { get; init; }

    /// <summary>The proxy's namespace: <c>NAMESPACE</c>, else the id's.</summary>
    public required string Namespace { get; init; }

    /// <summary>The DNS domain from the id (<c>default.svc.cluster.local</c>); used to expand short host names.</summary>
    public string DnsDomain { get; init; } = string.Empty;

    /// <summary><c>SERVICE_ACCOUNT</c>, when sent.</summary>
    public string? ServiceAccount { get; init; }

    /// <summary><c>LABELS</c>: the workload's labels (selectors of Sidecar, AuthorizationPolicy, PeerAuthentication, Gateway).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = FrozenDictionary<string, string>.Empty;

    /// <summary><c>CLUSTER_ID</c>, when sent.</summary>
    public string? ClusterId { get; init; }

    /// <summary><c>ISTIO_VERSION</c>, when sent.</summary>
    public string? IstioVersion { get; init; }

    /// <summary><c>GENERATOR</c> (<c>grpc</c> for proxyless gRPC), when sent.</summary>
    public string? Generator { get; init; }

    /// <summary>The node's <c>user_agent_name</c> (e.g. <c>envoy</c>, <c>gRPC Python</c>).</summary>
    public string UserAgentName { get; init; } = string.Empty;

    /// <summary>The node's <c>user_agent_version</c>.</summary>
    public string UserAgentVersion { get; init; } = string.Empty;

    /// <summary>The first address: the one inbound listeners bind, and the one the registry's workload is looked up by.</summary>
    public string PrimaryIp => IpAddresses[0];

    /// <summary>Whether the node asks for proxyless gRPC configuration (<c>GENERATOR: grpc</c>).</summary>
    public bool IsProxylessGrpc => string.Equals(Generator, "grpc", StringComparison.Ordinal);

    /// <summary>The proxy's own domain suffix, e.g. <c>cluster.local</c>, from <see cref="DnsDomain"/>.</summary>
    public string DomainSuffix(string fallback)
    {
        // "<ns>.svc.<domain>"
        var marker = Namespace + ".svc.";
        return DnsDomain.StartsWith(marker, StringComparison.Ordinal) && DnsDomain.Length > marker.Length
            ? DnsDomain[marker.Length..]
            : fallback;
    }

    /// <summary>Reads a node as istiod does.</summary>
    /// <param name="node">The node of the stream's first request.</param>
    /// <param name="proxy">The proxy, when the id is well formed.</param>
    /// <param name="error">Why it is not, naming the field.</param>
    public static bool TryParse(Node node, out Proxy proxy, out string error)
    {
        ArgumentNullException.ThrowIfNull(node);
        proxy = null!;
        var parts = node.Id.Split('~');
        if (parts.Length != 4)
        {
            error = $"node id \"{node.Id}\" is not an Istio node id (type~ip~pod.namespace~namespace.svc.domain): it has {parts.Length} fields, not 4";
            return false;
        }
        ProxyType type;
        switch (parts[0])
        {
            case "sidecar":
                type = ProxyType.Sidecar;
                break;
            case "router":
                type = ProxyType.Router;
                break;
            default:
                error = $"node id \"{node.Id}\": type \"{parts[0]}\" is neither sidecar nor router";
                return false;
        }
        var meta = node.Metadata?.Fields;
        string? Text(string key) => meta is not null && meta.TryGetValue(key, out var v) && v.KindCase == Value.KindOneofCase.StringValue && v.StringValue.Length > 0
            ? v.StringValue
            : null;

        var ips = new List<string>();
        if (Text("INSTANCE_IPS") is { } instanceIps)
        {
            foreach (var ip in instanceIps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!IPAddress.TryParse(ip, out _))
                {
                    error = $"node metadata INSTANCE_IPS holds \"{ip}\", which is not an IP address";
                    return false;
                }
                ips.Add(ip);
            }
        }
        if (ips.Count == 0)
        {
            if (!IPAddress.TryParse(parts[1], out _))
            {
                error = $"node id \"{node.Id}\": \"{parts[1]}\" is not an IP address";
                return false;
            }
            ips.Add(parts[1]);
        }

        var podDotNamespace = parts[2];
        var dot = podDotNamespace.LastIndexOf('.');
        var pod = dot > 0 ? podDotNamespace[..dot] : podDotNamespace;
        var idNamespace = dot > 0 ? podDotNamespace[(dot + 1)..] : string.Empty;
        var ns = Text("NAMESPACE") ?? idNamespace;
        if (ns.Length == 0)
        {
            error = $"node id \"{node.Id}\" names no namespace (pod.namespace) and the metadata has no NAMESPACE";
            return false;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (meta is not null && meta.TryGetValue("LABELS", out var labelValue) && labelValue.KindCase == Value.KindOneofCase.StructValue)
        {
            foreach (var (key, value) in labelValue.StructValue.Fields)
            {
                if (value.KindCase == Value.KindOneofCase.StringValue)
                {
                    labels[key] = value.StringValue;
                }
            }
        }

        proxy = new Proxy
        {
            NodeId = node.Id,
            Type = type,
            IpAddresses = ips,
            PodName = pod,
            Namespace = ns,
            DnsDomain = parts[3],
            ServiceAccount = Text("SERVICE_ACCOUNT"),
            Labels = labels.ToFrozenDictionary(StringComparer.Ordinal),
            ClusterId = Text("CLUSTER_ID"),
            IstioVersion = Text("ISTIO_VERSION"),
            Generator = Text("GENERATOR"),
            UserAgentName = node.UserAgentName,
            UserAgentVersion = node.UserAgentVersion,
        };
        error = string.Empty;
        return true;
    }
}
