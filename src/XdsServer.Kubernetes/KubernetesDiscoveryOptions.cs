namespace XdsServer.Kubernetes;

/// <summary>How <see cref="KubernetesDiscoverySource"/> reaches a cluster and what it watches.</summary>
public sealed class KubernetesDiscoveryOptions
{
    /// <summary>The source's name in the registry (unique among sources). Default <c>kubernetes</c>.</summary>
    public string Name { get; set; } = "kubernetes";

    /// <summary>The cluster's DNS domain (services are <c>name.namespace.svc.&lt;domain&gt;</c>). Default
    /// <c>cluster.local</c>.</summary>
    public string Domain { get; set; } = "cluster.local";

    /// <summary>A kubeconfig file to connect with (its current context). Null: the in-cluster service account when
    /// running in a pod, else the default kubeconfig (<c>$KUBECONFIG</c> or <c>~/.kube/config</c>).</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>The namespaces whose objects are held; empty (the default) means all. Namespaced kinds are listed and
    /// watched per namespace; of the Namespace objects only these are held; Nodes are always held.</summary>
    public ICollection<string> Namespaces { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>A Kubernetes label selector (e.g. <c>app=reviews,tier!=test</c>) applied by the API server to
    /// Services, EndpointSlices (which carry their Service's labels), Pods and the Istio kinds; not to Namespaces or
    /// Nodes. Null or empty: no filtering.</summary>
    public string? LabelSelector { get; set; }

    /// <summary>How long a watch may send nothing (no event, no bookmark) before it is ended and resumed. Default
    /// 5 minutes; the source asks for bookmarks, which a healthy API server sends about every minute.</summary>
    public TimeSpan WatchdogTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The custom (Istio) kinds to watch; by default <see cref="CustomResourceKind.IstioDefaults"/>. A kind
    /// whose CRD is not installed is reported in the source's status and checked again now and then; it does not hold
    /// back readiness.</summary>
    public IList<CustomResourceKind> IstioKinds { get; } = [.. CustomResourceKind.IstioDefaults];

    /// <summary>The first delay after a failure; it doubles, with jitter, up to <see cref="MaxBackoff"/>.</summary>
    internal TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between retries of a failing kind.</summary>
    internal TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a kind whose CRD is not installed is checked again.</summary>
    internal TimeSpan MissingKindRetry { get; set; } = TimeSpan.FromMinutes(5);

    internal KubernetesDiscoveryOptions Copy()
    {
        var copy = new KubernetesDiscoveryOptions
        {
            Name = Name,
            Domain = Domain,
            KubeconfigPath = KubeconfigPath,
            LabelSelector = LabelSelector,
            WatchdogTimeout = WatchdogTimeout,
            InitialBackoff = InitialBackoff,
            MaxBackoff = MaxBackoff,
            MissingKindRetry = MissingKindRetry,
        };
        foreach (var ns in Namespaces)
        {
            copy.Namespaces.Add(ns);
        }

        copy.IstioKinds.Clear();
        foreach (var kind in IstioKinds)
        {
            copy.IstioKinds.Add(kind);
        }

        return copy;
    }
}
