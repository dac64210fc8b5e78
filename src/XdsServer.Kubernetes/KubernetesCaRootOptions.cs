using System.Security.Cryptography;
using k8s;
using XdsServer.Ca;

namespace XdsServer.Kubernetes;

/// <summary>Where <see cref="KubernetesCaRootStore"/> finds the CA root in Kubernetes, how replicas agree on
/// which of them creates or renews it, and how often <see cref="KubernetesCaRootRotator"/> checks it.</summary>
public sealed class KubernetesCaRootOptions
{
    /// <summary>The namespace of the Secrets and the Lease. Default <c>istio-system</c>.</summary>
    public string Namespace { get; set; } = "istio-system";

    /// <summary>The Secret of a plugged-in CA, in Istio's <c>cacerts</c> shape (<c>ca-cert.pem</c>, <c>ca-key.pem</c>,
    /// <c>root-cert.pem</c>, <c>cert-chain.pem</c>) or in the cert-manager shape (<c>tls.crt</c>, <c>tls.key</c>,
    /// <c>ca.crt</c>); preferred when present. Never rotated here. Default <c>cacerts</c>.</summary>
    public string PluggedSecretName { get; set; } = "cacerts";

    /// <summary>The Secret of the self-signed root (<c>ca-cert.pem</c>, <c>ca-key.pem</c>), created by one replica
    /// when neither Secret exists. Default <c>istio-ca-secret</c>, the name istiod uses.</summary>
    public string SelfSignedSecretName { get; set; } = "istio-ca-secret";

    /// <summary>The Lease a replica must hold to create or renew the self-signed root. Default <c>xds-ca-root</c>.</summary>
    public string LeaseName { get; set; } = "xds-ca-root";

    /// <summary>This replica's id in the Lease: by default the <c>POD_NAME</c> environment variable (else the
    /// machine name) with a random suffix, unique per process.</summary>
    public string ReplicaId { get; set; } = DefaultReplicaId();

    /// <summary>How long the Lease holds without renewal. Default 15 seconds.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a replica that may not create the root looks again for the Secret (or a free Lease).
    /// Default 2 seconds.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a replica waits for the root to appear before giving up. Default 2 minutes.</summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often <see cref="KubernetesCaRootRotator"/> reads the Secrets to pick up a root another
    /// replica or an operator stored, and to renew a self-signed root near its end. Default 1 hour (istiod's
    /// <c>CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL</c>).</summary>
    public TimeSpan RotationCheckInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The share of a root's lifetime, in percent, left when it is renewed: a self-signed root is renewed
    /// (by the replica holding the Lease) once less than this much of its validity remains; a plugged-in CA is
    /// reported (a warning) at that point instead. Between 1 and 99. Default 20 (istiod's
    /// <c>CITADEL_SELF_SIGNED_ROOT_CERT_GRACE_PERIOD_PERCENTILE</c>).</summary>
    public int RotationGracePercent { get; set; } = 20;

    /// <summary>The self-signed root to create (trust domain, key algorithm, lifetime). <see langword="null"/>: with
    /// <c>AddKubernetesCaRoot</c>, that of <c>AddCertificateAuthority</c>; otherwise the defaults.</summary>
    public CertificateAuthorityOptions? Authority { get; set; }

    /// <summary>The kubeconfig file to use; <see langword="null"/> for the default (in-cluster configuration in a
    /// pod, <c>~/.kube/config</c> otherwise). Ignored when <see cref="Client"/> is set.</summary>
    public string? KubeConfigPath { get; set; }

    /// <summary>A client to use instead of one built from configuration; not disposed by the store.</summary>
    public IKubernetes? Client { get; set; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is empty or out of range.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Namespace, nameof(Namespace));
        ArgumentException.ThrowIfNullOrWhiteSpace(PluggedSecretName, nameof(PluggedSecretName));
        ArgumentException.ThrowIfNullOrWhiteSpace(SelfSignedSecretName, nameof(SelfSignedSecretName));
        ArgumentException.ThrowIfNullOrWhiteSpace(LeaseName, nameof(LeaseName));
        ArgumentException.ThrowIfNullOrWhiteSpace(ReplicaId, nameof(ReplicaId));
        if (PluggedSecretName == SelfSignedSecretName)
        {
            throw new ArgumentException("PluggedSecretName and SelfSignedSecretName must differ.", nameof(SelfSignedSecretName));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(LeaseDuration, TimeSpan.FromSeconds(1), nameof(LeaseDuration));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInterval, TimeSpan.Zero, nameof(RetryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(WaitTimeout, TimeSpan.Zero, nameof(WaitTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(RotationCheckInterval, TimeSpan.FromSeconds(1), nameof(RotationCheckInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(RotationGracePercent, 1, nameof(RotationGracePercent));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RotationGracePercent, 99, nameof(RotationGracePercent));
        Authority?.Validate();
    }

    private static string DefaultReplicaId()
    {
        var name = Environment.GetEnvironmentVariable("POD_NAME");
        return (string.IsNullOrWhiteSpace(name) ? Environment.MachineName : name) + "_"
            + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    }
}
