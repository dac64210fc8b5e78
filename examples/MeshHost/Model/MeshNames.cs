using System.Globalization;

namespace MeshHost.Model;

/// <summary>The names istiod gives what it generates, so that dashboards, tooling and operators' habits carry over.</summary>
public static class MeshNames
{
    /// <summary>The cluster that drops traffic (outbound policy REGISTRY_ONLY, unknown destinations).</summary>
    public const string BlackHoleCluster = "BlackHoleCluster";

    /// <summary>The ORIGINAL_DST cluster for outbound traffic to destinations outside the registry (ALLOW_ANY).</summary>
    public const string PassthroughCluster = "PassthroughCluster";

    /// <summary>The ORIGINAL_DST cluster for inbound traffic to ports no service declares.</summary>
    public const string InboundPassthroughCluster = "InboundPassthroughCluster";

    /// <summary>The virtual outbound listener (0.0.0.0:15001, <c>use_original_dst</c>).</summary>
    public const string VirtualOutboundListener = "virtualOutbound";

    /// <summary>The virtual inbound listener (0.0.0.0:15006).</summary>
    public const string VirtualInboundListener = "virtualInbound";

    /// <summary>The port of <see cref="VirtualOutboundListener"/>.</summary>
    public const int VirtualOutboundPort = 15001;

    /// <summary>The port of <see cref="VirtualInboundListener"/>.</summary>
    public const int VirtualInboundPort = 15006;

    /// <summary>The cluster of the SDS server in the proxy's bootstrap (istio-agent's UDS).</summary>
    public const string SdsCluster = "sds-grpc";

    /// <summary>The SDS secret of the workload's own certificate.</summary>
    public const string DefaultSecret = "default";

    /// <summary>The SDS secret of the trust bundle.</summary>
    public const string RootCaSecret = "ROOTCA";

    /// <summary>The virtual host that catches every other host on an outbound HTTP route (ALLOW_ANY).</summary>
    public const string AllowAnyVirtualHost = "allow_any";

    /// <summary>The virtual host that catches every other host on an outbound HTTP route (REGISTRY_ONLY).</summary>
    public const string BlockAllVirtualHost = "block_all";

    /// <summary>The label/metadata key of a workload's mTLS mode (<c>istio</c> or <c>disabled</c>).</summary>
    public const string TlsModeLabel = "security.istio.io/tlsMode";

    /// <summary>The transport socket match label istiod puts on endpoints: <c>tlsMode</c>.</summary>
    public const string TlsModeMatchKey = "tlsMode";

    /// <summary><c>outbound|&lt;port&gt;|&lt;subset&gt;|&lt;fqdn&gt;</c>; an empty subset gives <c>outbound|9080||reviews.default.svc.cluster.local</c>.</summary>
    public static string OutboundCluster(int port, string? subset, string hostname) =>
        string.Create(CultureInfo.InvariantCulture, $"outbound|{port}|{subset}|{hostname}");

    /// <summary><c>inbound|&lt;targetPort&gt;||</c>.</summary>
    public static string InboundCluster(int targetPort) => string.Create(CultureInfo.InvariantCulture, $"inbound|{targetPort}||");

    /// <summary>The SNI of an ISTIO_MUTUAL connection: <c>outbound_.&lt;port&gt;_.&lt;subset&gt;_.&lt;fqdn&gt;</c>.</summary>
    public static string MutualTlsSni(int port, string? subset, string hostname) =>
        string.Create(CultureInfo.InvariantCulture, $"outbound_.{port}_.{subset}_.{hostname}");

    /// <summary>An outbound listener on all addresses: <c>0.0.0.0_&lt;port&gt;</c> (also a gateway's listener).</summary>
    public static string WildcardListener(int port) => string.Create(CultureInfo.InvariantCulture, $"0.0.0.0_{port}");

    /// <summary>An outbound TCP listener on a service VIP: <c>&lt;vip&gt;_&lt;port&gt;</c>.</summary>
    public static string VipListener(string vip, int port) => string.Create(CultureInfo.InvariantCulture, $"{vip}_{port}");

    /// <summary>The RDS name of a sidecar's outbound HTTP listener: the port number.</summary>
    public static string OutboundRoute(int port) => port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The RDS name of a gateway's HTTP server on a port: <c>http.&lt;port&gt;</c>.</summary>
    public static string GatewayRoute(int port) => string.Create(CultureInfo.InvariantCulture, $"http.{port}");

    /// <summary>An inbound filter chain of <see cref="VirtualInboundListener"/>: <c>0.0.0.0_&lt;targetPort&gt;</c>.</summary>
    public static string InboundChain(int targetPort) => WildcardListener(targetPort);

    /// <summary>A virtual host: <c>&lt;fqdn&gt;:&lt;port&gt;</c>.</summary>
    public static string VirtualHost(string hostname, int port) => string.Create(CultureInfo.InvariantCulture, $"{hostname}:{port}");

    /// <summary>The SPIFFE ID of a service account: <c>spiffe://&lt;trustDomain&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>.</summary>
    public static string SpiffeId(string trustDomain, string @namespace, string serviceAccount) =>
        $"spiffe://{trustDomain}/ns/{@namespace}/sa/{serviceAccount}";
}
