namespace XdsServer.Discovery;

/// <summary>The application protocol of a service port, as Istio reads it (explicit protocol selection).</summary>
public enum ServicePortProtocol
{
    /// <summary>Not declared: treated as opaque TCP (Istio would sniff it).</summary>
    Unknown,

    /// <summary>HTTP/1.1.</summary>
    Http,

    /// <summary>HTTP/2 (cleartext or negotiated).</summary>
    Http2,

    /// <summary>gRPC.</summary>
    Grpc,

    /// <summary>gRPC-Web.</summary>
    GrpcWeb,

    /// <summary>HTTPS: TLS the proxy passes through, routed by SNI.</summary>
    Https,

    /// <summary>TLS the proxy passes through, routed by SNI.</summary>
    Tls,

    /// <summary>Opaque TCP.</summary>
    Tcp,

    /// <summary>UDP (not proxied).</summary>
    Udp,

    /// <summary>MongoDB.</summary>
    Mongo,

    /// <summary>Redis.</summary>
    Redis,

    /// <summary>MySQL.</summary>
    MySql,
}

/// <summary>One port of a service.</summary>
/// <param name="Name">The port's name (may be empty for a single-port service).</param>
/// <param name="Port">The service port clients call.</param>
/// <param name="TargetPort">The workload port it forwards to, when given as a number (0 when named or absent).</param>
/// <param name="TargetPortName">The workload port's name, when the target port is named (resolved per endpoint).</param>
/// <param name="Protocol">The application protocol.</param>
public sealed record ServicePort(string Name, int Port, int TargetPort, string? TargetPortName, ServicePortProtocol Protocol)
{
    /// <summary>
    /// The protocol Istio gives a port: <c>appProtocol</c> when set (<c>http</c>, <c>http2</c>, <c>grpc</c>,
    /// <c>grpc-web</c>, <c>https</c>, <c>tls</c>, <c>tcp</c>, <c>mongo</c>, <c>redis</c>, <c>mysql</c>, and the
    /// Kubernetes names <c>kubernetes.io/h2c</c>, <c>kubernetes.io/ws</c>, <c>kubernetes.io/wss</c>), else the port
    /// name's prefix before the first <c>-</c> (<c>http-web</c> is HTTP), else UDP for a UDP port, else
    /// <see cref="ServicePortProtocol.Unknown"/>. Case-insensitive.
    /// </summary>
    /// <param name="appProtocol">The port's <c>appProtocol</c>, if any.</param>
    /// <param name="portName">The port's name, if any.</param>
    /// <param name="transport">The port's transport protocol (<c>TCP</c>, <c>UDP</c>, <c>SCTP</c>); null means TCP.</param>
    /// <returns>The protocol.</returns>
    public static ServicePortProtocol ProtocolOf(string? appProtocol, string? portName, string? transport = null)
    {
        if (string.Equals(transport, "UDP", StringComparison.OrdinalIgnoreCase))
        {
            return ServicePortProtocol.Udp;
        }

        if (!string.IsNullOrEmpty(appProtocol) && Parse(appProtocol) is { } declared)
        {
            return declared;
        }

        if (!string.IsNullOrEmpty(portName))
        {
            var dash = portName.IndexOf('-', StringComparison.Ordinal);
            if (Parse(dash < 0 ? portName : portName[..dash]) is { } named)
            {
                return named;
            }
        }

        return ServicePortProtocol.Unknown;
    }

    private static ServicePortProtocol? Parse(string value) => value.ToLowerInvariant() switch
    {
        "http" or "kubernetes.io/ws" => ServicePortProtocol.Http,
        "http2" or "kubernetes.io/h2c" => ServicePortProtocol.Http2,
        "grpc" => ServicePortProtocol.Grpc,
        "grpc-web" => ServicePortProtocol.GrpcWeb,
        "https" or "kubernetes.io/wss" => ServicePortProtocol.Https,
        "tls" => ServicePortProtocol.Tls,
        "tcp" => ServicePortProtocol.Tcp,
        "udp" => ServicePortProtocol.Udp,
        "mongo" => ServicePortProtocol.Mongo,
        "redis" => ServicePortProtocol.Redis,
        "mysql" => ServicePortProtocol.MySql,
        _ => null,
    };
}
