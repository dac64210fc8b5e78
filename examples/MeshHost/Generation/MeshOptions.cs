namespace MeshHost.Generation;

/// <summary>What istiod's MeshConfig would say, for the parts the generator reads.</summary>
public sealed record MeshOptions
{
    /// <summary>The cluster DNS domain (<c>cluster.local</c>): services are <c>&lt;name&gt;.&lt;ns&gt;.svc.&lt;domain&gt;</c>.</summary>
    public string Domain { get; init; } = "cluster.local";

    /// <summary>The SPIFFE trust domain of workload identities.</summary>
    public string TrustDomain { get; init; } = "cluster.local";

    /// <summary>The mesh's root namespace: mesh-wide Sidecar, PeerAuthentication and AuthorizationPolicy live here.</summary>
    public string RootNamespace { get; init; } = "istio-system";

    /// <summary>Outbound traffic to unknown destinations: ALLOW_ANY (passthrough, the default) or REGISTRY_ONLY (blackhole).</summary>
    public bool AllowAnyOutbound { get; init; } = true;

    /// <summary>Whether auto-mTLS is on (istiod's default): ISTIO_MUTUAL to endpoints labelled <c>tlsMode: istio</c>
    /// when no DestinationRule says otherwise.</summary>
    public bool AutoMutualTls { get; init; } = true;

    /// <summary>The connect timeout of generated clusters (MeshConfig <c>connectTimeout</c>, 10 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
