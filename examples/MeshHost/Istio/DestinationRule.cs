namespace MeshHost.Istio;

// The DestinationRule spec as Istio's CRD writes it. Enum-like fields (modes, LB algorithms) are kept as strings so
// that an unknown value spoils only its own part (reported by the cluster builder), not the whole object; durations
// are strings parsed with IstioJson.Duration for the same reason.

/// <summary>networking.istio.io DestinationRule <c>spec</c>.</summary>
public sealed class DestinationRuleSpec
{
    /// <summary>The service the rule applies to: a short name (resolved in the rule's namespace), an FQDN or a
    /// wildcard such as <c>*.example.com</c>.</summary>
    public string Host { get; set; } = string.Empty;

    /// <summary>The policy of every port and subset, unless overridden.</summary>
    public TrafficPolicy? TrafficPolicy { get; set; }

    /// <summary>Named groups of endpoints (by labels), each an <c>outbound|port|subset|host</c> cluster.</summary>
    public List<Subset> Subsets { get; set; } = [];

    /// <summary>The namespaces that see the rule: empty or <c>*</c> = all, <c>.</c> = its own, <c>~</c> = none.</summary>
    public List<string> ExportTo { get; set; } = [];

    /// <summary>When set, the rule applies only to the workloads (proxies) with these labels.</summary>
    public WorkloadSelector? WorkloadSelector { get; set; }
}

/// <summary>A label selector of workloads.</summary>
public sealed class WorkloadSelector
{
    /// <summary>The labels a workload must have.</summary>
    public Dictionary<string, string> MatchLabels { get; set; } = [];
}

/// <summary>A DestinationRule subset.</summary>
public sealed class Subset
{
    /// <summary>The subset's name (the third field of its cluster name).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The labels that pick the subset's endpoints among the service's.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>Overrides of the rule's policy for this subset.</summary>
    public TrafficPolicy? TrafficPolicy { get; set; }
}

/// <summary>Load balancing, connection pool, outlier detection and TLS of the connections to a service.</summary>
public sealed class TrafficPolicy
{
    /// <summary>The load balancing algorithm.</summary>
    public LoadBalancerSettings? LoadBalancer { get; set; }

    /// <summary>Connection limits (Envoy circuit breakers) and timeouts.</summary>
    public ConnectionPoolSettings? ConnectionPool { get; set; }

    /// <summary>Ejection of failing endpoints.</summary>
    public OutlierDetection? OutlierDetection { get; set; }

    /// <summary>TLS towards the service.</summary>
    public ClientTlsSettings? Tls { get; set; }

    /// <summary>Per-port overrides.</summary>
    public List<PortTrafficPolicy> PortLevelSettings { get; set; } = [];
}

/// <summary>A port's overrides of a <see cref="TrafficPolicy"/>.</summary>
public sealed class PortTrafficPolicy
{
    /// <summary>The service port.</summary>
    public PortSelector? Port { get; set; }

    /// <summary>See <see cref="TrafficPolicy.LoadBalancer"/>.</summary>
    public LoadBalancerSettings? LoadBalancer { get; set; }

    /// <summary>See <see cref="TrafficPolicy.ConnectionPool"/>.</summary>
    public ConnectionPoolSettings? ConnectionPool { get; set; }

    /// <summary>See <see cref="TrafficPolicy.OutlierDetection"/>.</summary>
    public OutlierDetection? OutlierDetection { get; set; }

    /// <summary>See <see cref="TrafficPolicy.Tls"/>.</summary>
    public ClientTlsSettings? Tls { get; set; }
}

/// <summary>A service port by number.</summary>
public sealed class PortSelector // shared by DestinationRule and VirtualService
{
    /// <summary>The port number.</summary>
    public int Number { get; set; }
}

/// <summary>Load balancing: a simple algorithm or a consistent hash.</summary>
public sealed class LoadBalancerSettings
{
    /// <summary><c>UNSPECIFIED</c>, <c>LEAST_REQUEST</c> (<c>LEAST_CONN</c>), <c>ROUND_ROBIN</c>, <c>RANDOM</c> or
    /// <c>PASSTHROUGH</c>.</summary>
    public string? Simple { get; set; }

    /// <summary>Session affinity by a hash of a request property.</summary>
    public ConsistentHashSettings? ConsistentHash { get; set; }

    /// <summary>Slow start window of new endpoints (ROUND_ROBIN and LEAST_REQUEST), a duration.</summary>
    public string? WarmupDurationSecs { get; set; }
}

/// <summary>Consistent hash load balancing: the hash key and the algorithm.</summary>
public sealed class ConsistentHashSettings
{
    /// <summary>Hash a request header.</summary>
    public string? HttpHeaderName { get; set; }

    /// <summary>Hash a cookie (generated when absent and a TTL is given).</summary>
    public HttpCookie? HttpCookie { get; set; }

    /// <summary>Hash the source IP address.</summary>
    public bool? UseSourceIp { get; set; }

    /// <summary>Hash a query parameter.</summary>
    public string? HttpQueryParameterName { get; set; }

    /// <summary>Ring hash, with its ring size.</summary>
    public RingHashSettings? RingHash { get; set; }

    /// <summary>Maglev, with its table size.</summary>
    public MaglevSettings? Maglev { get; set; }

    /// <summary>Deprecated: the ring hash minimum ring size (1024 when 0).</summary>
    public ulong MinimumRingSize { get; set; }
}

/// <summary>The cookie of a consistent hash.</summary>
public sealed class HttpCookie
{
    /// <summary>The cookie's name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The cookie's path.</summary>
    public string? Path { get; set; }

    /// <summary>The lifetime of a generated cookie, a duration.</summary>
    public string? Ttl { get; set; }
}

/// <summary>Ring hash settings.</summary>
public sealed class RingHashSettings
{
    /// <summary>The minimum number of virtual nodes on the ring (Envoy's default when 0).</summary>
    public ulong MinimumRingSize { get; set; }
}

/// <summary>Maglev settings.</summary>
public sealed class MaglevSettings
{
    /// <summary>The lookup table size, a prime (Envoy's default when 0).</summary>
    public ulong TableSize { get; set; }
}

/// <summary>Connection pool settings: TCP and HTTP limits.</summary>
public sealed class ConnectionPoolSettings
{
    /// <summary>TCP settings.</summary>
    public TcpSettings? Tcp { get; set; }

    /// <summary>HTTP settings.</summary>
    public HttpSettings? Http { get; set; }
}

/// <summary>TCP connection pool settings.</summary>
public sealed class TcpSettings
{
    /// <summary>The maximum number of connections (Envoy <c>max_connections</c>).</summary>
    public int MaxConnections { get; set; }

    /// <summary>The connect timeout, a duration.</summary>
    public string? ConnectTimeout { get; set; }

    /// <summary>TCP keepalive.</summary>
    public TcpKeepalive? TcpKeepalive { get; set; }

    /// <summary>The maximum lifetime of a connection, a duration.</summary>
    public string? MaxConnectionDuration { get; set; }

    /// <summary>The idle timeout of a connection, a duration.</summary>
    public string? IdleTimeout { get; set; }
}

/// <summary>TCP keepalive settings.</summary>
public sealed class TcpKeepalive
{
    /// <summary>Unanswered probes before the connection is dropped.</summary>
    public uint Probes { get; set; }

    /// <summary>Idle time before probes start, a duration.</summary>
    public string? Time { get; set; }

    /// <summary>Time between probes, a duration.</summary>
    public string? Interval { get; set; }
}

/// <summary>HTTP connection pool settings.</summary>
public sealed class HttpSettings
{
    /// <summary>The maximum pending HTTP/1.1 requests (Envoy <c>max_pending_requests</c>).</summary>
    public int Http1MaxPendingRequests { get; set; }

    /// <summary>The maximum concurrent requests (Envoy <c>max_requests</c>).</summary>
    public int Http2MaxRequests { get; set; }

    /// <summary>Requests per connection before it is closed.</summary>
    public int MaxRequestsPerConnection { get; set; }

    /// <summary>The maximum concurrent retries (Envoy <c>max_retries</c>).</summary>
    public int MaxRetries { get; set; }

    /// <summary>The idle timeout of a connection, a duration.</summary>
    public string? IdleTimeout { get; set; }

    /// <summary><c>DEFAULT</c>, <c>DO_NOT_UPGRADE</c> or <c>UPGRADE</c> (HTTP/1.1 to HTTP/2).</summary>
    public string? H2UpgradePolicy { get; set; }

    /// <summary>Use the client's HTTP version towards the service.</summary>
    public bool UseClientProtocol { get; set; }

    /// <summary>The maximum concurrent streams of an HTTP/2 connection.</summary>
    public int MaxConcurrentStreams { get; set; }
}

/// <summary>Outlier detection: ejecting endpoints that fail.</summary>
public sealed class OutlierDetection
{
    /// <summary>Consecutive 5xx (or connect failures) before ejection; null = Envoy's default.</summary>
    public uint? Consecutive5xxErrors { get; set; }

    /// <summary>Consecutive 502/503/504 (or connect failures) before ejection; null = off.</summary>
    public uint? ConsecutiveGatewayErrors { get; set; }

    /// <summary>Time between ejection sweeps, a duration.</summary>
    public string? Interval { get; set; }

    /// <summary>The minimum ejection duration, a duration.</summary>
    public string? BaseEjectionTime { get; set; }

    /// <summary>The maximum share of endpoints ejected, in percent.</summary>
    public int MaxEjectionPercent { get; set; }

    /// <summary>Below this share of healthy endpoints, ejection stops (Envoy's healthy panic threshold).</summary>
    public int MinHealthPercent { get; set; }

    /// <summary>Count local-origin failures (connect errors) apart from upstream responses.</summary>
    public bool SplitExternalLocalOriginErrors { get; set; }

    /// <summary>Consecutive local-origin failures before ejection (with <see cref="SplitExternalLocalOriginErrors"/>).</summary>
    public uint? ConsecutiveLocalOriginFailures { get; set; }
}

/// <summary>TLS a client (the proxy) uses towards a service.</summary>
public sealed class ClientTlsSettings
{
    /// <summary><c>DISABLE</c>, <c>SIMPLE</c>, <c>MUTUAL</c> or <c>ISTIO_MUTUAL</c>.</summary>
    public string? Mode { get; set; }

    /// <summary>The client certificate file (MUTUAL).</summary>
    public string? ClientCertificate { get; set; }

    /// <summary>The client key file (MUTUAL).</summary>
    public string? PrivateKey { get; set; }

    /// <summary>The CA certificate file; the system roots when empty.</summary>
    public string? CaCertificates { get; set; }

    /// <summary>The Secret holding the client certificate and/or CA (SDS; gateways and rules with a workload selector).</summary>
    public string? CredentialName { get; set; }

    /// <summary>The server identities accepted; for ISTIO_MUTUAL, overrides the service accounts of the endpoints.</summary>
    public List<string>? SubjectAltNames { get; set; }

    /// <summary>The SNI sent.</summary>
    public string? Sni { get; set; }

    /// <summary>Do not verify the server certificate.</summary>
    public bool? InsecureSkipVerify { get; set; }
}
