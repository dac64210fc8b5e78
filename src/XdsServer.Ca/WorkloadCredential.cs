namespace XdsServer.Ca;

/// <summary>What a workload holds at one moment: its certificate, the private key, and the roots it trusts.</summary>
public sealed record WorkloadCredential
{
    /// <summary>The workload's identity.</summary>
    public SpiffeId Identity => Certificate.Identity;

    /// <summary>The current certificate and its chain (leaf first).</summary>
    public required WorkloadCertificate Certificate { get; init; }

    /// <summary>The certificate's private key, PKCS#8 PEM (<c>PRIVATE KEY</c>).</summary>
    public required string PrivateKeyPem { get; init; }

    /// <summary>The roots the workload trusts (may hold two during a root rotation).</summary>
    public required TrustBundle TrustBundle { get; init; }

    /// <summary>When the rotator renews this certificate (about half its lifetime, with jitter).</summary>
    public required DateTimeOffset RenewAt { get; init; }

    /// <summary>Counts changes for this identity: 1 for the first credential, then +1 per renewal or bundle change.</summary>
    public required long Generation { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Identity} #{Generation} serial {Certificate.SerialNumber} until {Certificate.NotAfter:O}";
}

/// <summary>Why a workload credential changed.</summary>
public enum WorkloadCredentialChangeReason
{
    /// <summary>The identity was added and got its first certificate.</summary>
    Issued,

    /// <summary>The certificate reached its renewal time and was replaced.</summary>
    Renewed,

    /// <summary>The CA root rotated and the certificate was reissued under the new root.</summary>
    RootRotated,

    /// <summary>The trust bundle changed (a root left after its overlap); the certificate is unchanged.</summary>
    TrustBundleChanged,
}

/// <summary>A workload credential after a change.</summary>
/// <param name="credential">The credential now in force.</param>
/// <param name="reason">Why it changed.</param>
public sealed class WorkloadCredentialChangedEventArgs(WorkloadCredential credential, WorkloadCredentialChangeReason reason) : EventArgs
{
    /// <summary>The credential now in force.</summary>
    public WorkloadCredential Credential { get; } = credential;

    /// <summary>Why it changed.</summary>
    public WorkloadCredentialChangeReason Reason { get; } = reason;
}
