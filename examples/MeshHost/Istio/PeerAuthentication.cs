namespace MeshHost.Istio;

/// <summary>security.istio.io PeerAuthentication <c>spec</c>: which mutual TLS mode a workload's inbound side takes.</summary>
public sealed class PeerAuthenticationSpec
{
    /// <summary>The workloads it applies to; none means the whole namespace (or, in the root namespace, the mesh).</summary>
    public LabelSelector? Selector { get; set; }

    /// <summary>The workload-wide mode.</summary>
    public PeerMtls? Mtls { get; set; }

    /// <summary>Per workload (target) port overrides, by port number; honoured only with a selector, as istiod.</summary>
    public Dictionary<string, PeerMtls> PortLevelMtls { get; set; } = [];
}

/// <summary>An <c>mtls</c> block.</summary>
public sealed class PeerMtls
{
    /// <summary><c>UNSET</c> (inherit), <c>DISABLE</c>, <c>PERMISSIVE</c> or <c>STRICT</c>.</summary>
    public string? Mode { get; set; }
}

/// <summary>A <c>selector</c> of security policies (<c>matchLabels</c>).</summary>
public sealed class LabelSelector
{
    /// <summary>The labels a workload must carry.</summary>
    public Dictionary<string, string> MatchLabels { get; set; } = [];
}
