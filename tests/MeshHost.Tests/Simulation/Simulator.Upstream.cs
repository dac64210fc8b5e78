using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace MeshHost.Tests.Simulation;

public sealed partial class Simulator
{
    /// <summary>The filter metadata namespace transport_socket_matches are compared with.</summary>
    public const string TransportSocketMatchMetadata = "envoy.transport_socket_match";

    private ClusterTarget ResolveCluster(string name, uint? weight, SimulatedCall call)
    {
        if (!_clusters.TryGetValue(name, out var cluster))
        {
            return new ClusterTarget(name, weight, false, string.Empty, [], UpstreamTransport.Plaintext);
        }
        var type = cluster.ClusterDiscoveryTypeCase == ClusterProto.ClusterDiscoveryTypeOneofCase.ClusterType
            ? cluster.ClusterType.Name
            : TypeName(cluster.Type);
        var defaultTransport = DescribeTransport(cluster.TransportSocket, null);

        var endpoints = new List<SimulatedEndpoint>();
        if (cluster.ClusterDiscoveryTypeCase != ClusterProto.ClusterDiscoveryTypeOneofCase.ClusterType && cluster.Type == ClusterProto.Types.DiscoveryType.OriginalDst)
        {
            // The connection goes where the client sent it.
            endpoints.Add(new SimulatedEndpoint(call.Address, call.Port, "UNKNOWN", null, string.Empty, TransportFor(cluster, null, null)));
        }
        else
        {
            ClusterLoadAssignment? assignment = null;
            if (cluster.ClusterDiscoveryTypeCase != ClusterProto.ClusterDiscoveryTypeOneofCase.ClusterType && cluster.Type == ClusterProto.Types.DiscoveryType.Eds)
            {
                var serviceName = cluster.EdsClusterConfig?.ServiceName is { Length: > 0 } s ? s : cluster.Name;
                _endpoints.TryGetValue(serviceName, out assignment);
            }
            else
            {
                assignment = cluster.LoadAssignment;
            }
            foreach (var locality in assignment?.Endpoints ?? [])
            {
                var where = locality.Locality is { } l ? $"{l.Region}/{l.Zone}/{l.SubZone}" : string.Empty;
                foreach (var lb in locality.LbEndpoints)
                {
                    var socket = lb.Endpoint?.Address?.SocketAddress;
                    if (socket is null)
                    {
                        continue;
                    }
                    endpoints.Add(new SimulatedEndpoint(socket.Address, (int)socket.PortValue, HealthName(lb.HealthStatus), lb.LoadBalancingWeight,
                        where, TransportFor(cluster, lb.Metadata, locality.Metadata)));
                }
            }
        }
        return new ClusterTarget(name, weight, true, type, endpoints, defaultTransport);
    }

    /// <summary>The first transport_socket_matches entry whose every field equals the endpoint's
    /// <see cref="TransportSocketMatchMetadata"/> metadata (then the locality's), else the cluster's transport_socket.</summary>
    private static UpstreamTransport TransportFor(ClusterProto cluster, Metadata? endpoint, Metadata? locality)
    {
        foreach (var metadata in new[] { endpoint, locality })
        {
            var labels = metadata is not null && metadata.FilterMetadata.TryGetValue(TransportSocketMatchMetadata, out var s) ? s : new Struct();
            foreach (var match in cluster.TransportSocketMatches)
            {
                var criteria = match.Match ?? new Struct();
                if (criteria.Fields.All(f => labels.Fields.TryGetValue(f.Key, out var v) && v.Equals(f.Value)))
                {
                    return DescribeTransport(match.TransportSocket, match.Name);
                }
            }
        }
        return DescribeTransport(cluster.TransportSocket, null);
    }

    private static UpstreamTransport DescribeTransport(TransportSocket? socket, string? matchName)
    {
        if (socket is null || socket.Name == "envoy.transport_sockets.raw_buffer" || socket.TypedConfig is null)
        {
            return UpstreamTransport.Plaintext with { MatchName = matchName };
        }
        if (Unpack<UpstreamTlsContext>(socket.TypedConfig) is { } tls)
        {
            var common = tls.CommonTlsContext;
            var mutual = common is not null && (common.TlsCertificateSdsSecretConfigs.Count > 0 || common.TlsCertificates.Count > 0);
            return new UpstreamTransport(mutual ? "mtls" : "tls", tls.Sni.Length > 0 ? tls.Sni : null,
                common is null ? [] : [.. common.AlpnProtocols], matchName);
        }
        return new UpstreamTransport(socket.Name, null, [], matchName);
    }

    private static string TypeName(ClusterProto.Types.DiscoveryType type) => type switch
    {
        ClusterProto.Types.DiscoveryType.Static => "STATIC",
        ClusterProto.Types.DiscoveryType.StrictDns => "STRICT_DNS",
        ClusterProto.Types.DiscoveryType.LogicalDns => "LOGICAL_DNS",
        ClusterProto.Types.DiscoveryType.Eds => "EDS",
        ClusterProto.Types.DiscoveryType.OriginalDst => "ORIGINAL_DST",
        _ => type.ToString(),
    };

    private static string HealthName(HealthStatus health) => health switch
    {
        HealthStatus.Healthy => "HEALTHY",
        HealthStatus.Unhealthy => "UNHEALTHY",
        HealthStatus.Draining => "DRAINING",
        HealthStatus.Timeout => "TIMEOUT",
        HealthStatus.Degraded => "DEGRADED",
        _ => "UNKNOWN",
    };
}
