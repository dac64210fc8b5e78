namespace MeshHost.Istio;

/// <summary>networking.istio.io Sidecar <c>spec</c>: what a sidecar may reach (egress) and how unknown outbound
/// traffic is treated.</summary>
public sealed class SidecarSpec
{
    /// <summary>The workloads (of the Sidecar's namespace) it applies to; none means every workload of the
    /// namespace (or, in the root namespace, of the mesh).</summary>
    public SidecarWorkloadSelector? WorkloadSelector { get; set; }

    /// <summary>The outbound listeners and the hosts they may reach.</summary>
    public List<SidecarEgress> Egress { get; set; } = [];

    /// <summary>Explicit inbound listeners (not supported by MeshHost: reported).</summary>
    public List<System.Text.Json.JsonElement> Ingress { get; set; } = [];

    /// <summary>Overrides the mesh's outbound traffic policy for the proxies this Sidecar applies to.</summary>
    public OutboundTrafficPolicy? OutboundTrafficPolicy { get; set; }
}

/// <summary>A label selector of workloads (<c>workloadSelector.labels</c>).</summary>
public sealed class SidecarWorkloadSelector
{
    /// <summary>The labels a workload must carry.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];
}

/// <summary>One egress listener of a Sidecar.</summary>
public sealed class SidecarEgress
{
    /// <summary>A port for a dedicated listener (MeshHost pools every egress entry's hosts: reported).</summary>
    public SidecarPort? Port { get; set; }

    /// <summary>A bind address (not supported: reported).</summary>
    public string? Bind { get; set; }

    /// <summary><c>namespace/host</c> entries: namespace <c>*</c>, <c>.</c> (the Sidecar's), <c>~</c> (none) or a name;
    /// host <c>*</c>, <c>*.suffix</c> or a name.</summary>
    public List<string> Hosts { get; set; } = [];
}

/// <summary>A Sidecar listener's port.</summary>
public sealed class SidecarPort
{
    /// <summary>The port number.</summary>
    public int Number { get; set; }

    /// <summary>The protocol.</summary>
    public string? Protocol { get; set; }

    /// <summary>The name.</summary>
    public string? Name { get; set; }
}

/// <summary><c>outboundTrafficPolicy</c>: <c>ALLOW_ANY</c> or <c>REGISTRY_ONLY</c>.</summary>
public sealed class OutboundTrafficPolicy
{
    /// <summary>The mode.</summary>
    public string? Mode { get; set; }
}
