namespace XdsServer.Ca;

/// <summary>How <c>AddCertificateAuthority</c> sets up the CA inside the xDS server.</summary>
public sealed class CertificateAuthorityHostOptions
{
    /// <summary>The folder holding root material in Istio's <c>cacerts</c> layout: loaded when it holds CA files,
    /// otherwise a self-signed root is created and saved there. <see langword="null"/> keeps a self-signed root
    /// in memory only (tests).</summary>
    public string? Folder { get; set; }

    /// <summary>The root to create (trust domain, key algorithm, lifetime). Its trust domain is also the only one
    /// certificates are issued in.</summary>
    public CertificateAuthorityOptions Authority { get; set; } = new();

    /// <summary>Workload certificate lifetimes (default and the maximum requests are clamped to).</summary>
    public WorkloadCertificateOptions Workload { get; set; } = new();

    /// <summary>A JSON file mapping bearer tokens to SPIFFE IDs, accepted by a <see cref="StaticTokenReviewer"/>
    /// that watches it (<see cref="StaticTokenReviewer.WatchFile"/>: edits apply within seconds, a bad edit keeps
    /// the previous tokens); <see langword="null"/> for none.</summary>
    public string? StaticTokenFile { get; set; }

    /// <summary>Whether callers may authenticate with a TLS client certificate issued by this CA (default true).</summary>
    public bool AcceptClientCertificates { get; set; } = true;

    /// <summary>Whether callers may authenticate with a bearer token checked by the registered
    /// <see cref="ITokenReviewer"/>s (default true).</summary>
    public bool AcceptBearerTokens { get; set; } = true;

    /// <summary>With <c>AddWorkloadSecrets</c>: every xDS stream must prove a workload identity, also one whose node
    /// claims none (default false: such nodes are served without proof, and get no secrets). Turn it on when the
    /// default cache serves per-node configuration that one workload must not read of another.</summary>
    public bool RequireProvenIdentity { get; set; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Authority, nameof(Authority));
        ArgumentNullException.ThrowIfNull(Workload, nameof(Workload));
        Authority.Validate();
        Workload.Validate();
        if (Folder is { Length: 0 })
        {
            throw new ArgumentException("Folder cannot be empty; use null for an in-memory root.", nameof(Folder));
        }
        if (StaticTokenFile is { Length: 0 })
        {
            throw new ArgumentException("StaticTokenFile cannot be empty; use null for none.", nameof(StaticTokenFile));
        }
        if (!AcceptClientCertificates && !AcceptBearerTokens)
        {
            throw new ArgumentException("At least one of AcceptClientCertificates and AcceptBearerTokens must be true.");
        }
    }
}
