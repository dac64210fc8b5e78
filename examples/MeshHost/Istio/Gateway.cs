namespace MeshHost.Istio;

/// <summary>networking.istio.io Gateway <c>spec</c>.</summary>
public sealed class GatewaySpec
{
    /// <summary>Labels of the gateway workloads this Gateway configures.</summary>
    public Dictionary<string, string> Selector { get; set; } = [];

    /// <summary>The servers (ports and hosts) the gateway exposes.</summary>
    public List<GatewayServer> Servers { get; set; } = [];
}

/// <summary>One server of a Gateway.</summary>
public sealed class GatewayServer
{
    /// <summary>The port.</summary>
    public GatewayPort Port { get; set; } = new();

    /// <summary>Hosts exposed, optionally <c>namespace/host</c>; <c>*</c> wildcards allowed.</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>TLS settings, for HTTPS/TLS servers.</summary>
    public GatewayTls? Tls { get; set; }

    /// <summary>An optional name.</summary>
    public string? Name { get; set; }
}

/// <summary>A Gateway server's port.</summary>
public sealed class GatewayPort
{
    /// <summary>The port number.</summary>
    public int Number { get; set; }

    /// <summary>HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP or TLS.</summary>
    public string Protocol { get; set; } = "HTTP";

    /// <summary>The port's name.</summary>
    public string? Name { get; set; }

    /// <summary>The port the gateway workload listens on, when it differs.</summary>
    public int? TargetPort { get; set; }
}

/// <summary>A Gateway server's TLS settings.</summary>
public sealed class GatewayTls
{
    /// <summary>PASSTHROUGH, SIMPLE, MUTUAL, AUTO_PASSTHROUGH or ISTIO_MUTUAL.</summary>
    public string? Mode { get; set; }

    /// <summary>Redirect HTTP to HTTPS.</summary>
    public bool HttpsRedirect { get; set; }

    /// <summary>The Secret holding the server certificate (SDS).</summary>
    public string? CredentialName { get; set; }
}
