using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// Keeps the CA root in a Kubernetes Secret, so every replica of the control plane signs under the same root: a
/// plugged-in CA from the <see cref="KubernetesCaRootOptions.PluggedSecretName"/> Secret (Istio's <c>cacerts</c>)
/// when it exists, else the self-signed root of the <see cref="KubernetesCaRootOptions.SelfSignedSecretName"/> Secret
/// (Istio's <c>istio-ca-secret</c>), else a new self-signed root created and stored there by exactly one replica.
/// </summary>
/// <remarks>
/// <para>Only the replica holding the <see cref="KubernetesLease"/> <see cref="KubernetesCaRootOptions.LeaseName"/>
/// creates the root; the others look again every <see cref="KubernetesCaRootOptions.RetryInterval"/> until the Secret
/// appears (or the Lease is free or expired, when they try to take it). Creation is create-if-absent: should two
/// replicas both get there (a holder stalled past its Lease), the API server stores the first Secret and answers
/// the second 409 Conflict, and that replica discards its root and loads the stored one.</para>
/// <para>The root is not fixed for the life of a replica: <see cref="KubernetesCaRootRotator"/> (registered with the
/// store by <c>AddKubernetesCaRoot</c>) reads the Secrets again every
/// <see cref="KubernetesCaRootOptions.RotationCheckInterval"/>, loads a CA another replica or an operator stored, and
/// renews the self-signed root before it ends, under the same Lease, by a replace of <c>istio-ca-secret</c> carrying
/// the <c>resourceVersion</c> read (a plugged-in CA is never written to).</para>
/// <para>The plugged-in Secret may hold Istio's <c>cacerts</c> keys (<c>ca-cert.pem</c>, <c>ca-key.pem</c>,
/// <c>root-cert.pem</c>, <c>cert-chain.pem</c>) or, as cert-manager writes a CA certificate, <c>tls.crt</c> (the CA
/// certificate, then any chain above it), <c>tls.key</c> and <c>ca.crt</c> (the root): a Secret with <c>tls.crt</c> and
/// <c>tls.key</c> and no <c>ca-cert.pem</c> is read with <c>tls.crt</c> as <c>ca-cert.pem</c> and
/// <c>cert-chain.pem</c>, <c>tls.key</c> as <c>ca-key.pem</c> and <c>ca.crt</c> as <c>root-cert.pem</c>. When
/// <c>ca.crt</c> is absent, <c>tls.crt</c> must be a self-signed root.</para>
/// <para>Secrets are validated as <see cref="CertificateAuthority.LoadFromPem"/> does; a malformed one is refused
/// with an <see cref="InvalidDataException"/> naming the Secret and the key, never replaced. The service account needs
/// <c>get</c>, <c>create</c> and <c>update</c> on <c>secrets</c> (<c>update</c> for renewing the self-signed root), and
/// <c>get</c>, <c>create</c> and <c>update</c> on <c>leases</c>, in the namespace.</para>
/// </remarks>
public sealed class KubernetesCaRootStore : IDisposable
{
    /// <summary>The Secret type of a root created here, as istiod types <c>istio-ca-secret</c>.</summary>
    public const string SecretType = "istio.io/ca-root";

    private const string TlsCertKey = "tls.crt";
    private const string TlsKeyKey = "tls.key";
    private const string CaCertKey = "ca.crt";

    private readonly KubernetesCaRootOptions _options;
    private readonly CertificateAuthorityOptions _authority;
    private readonly IKubernetes _client;
    private readonly bool _ownsClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a store.</summary>
    /// <param name="options">Where the Secrets and Lease are and which client to use.</param>
    /// <param name="timeProvider">The clock of the Lease, the waits and certificate validity; the system clock when null.</param>
    /// <param name="logger">Receives loads, creation and waits; none when null. Keys are never logged.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public KubernetesCaRootStore(KubernetesCaRootOptions options, TimeProvider? timeProvider = null, ILogger<KubernetesCaRootStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _authority = options.Authority ?? new CertificateAuthorityOptions();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _client = KubernetesClients.Create(options.Client, options.KubeConfigPath, out _ownsClient);
        Lease = new KubernetesLease(_client, options.Namespace, options.LeaseName, options.ReplicaId, options.LeaseDuration, _timeProvider);
    }

    /// <summary>The Lease that decides which replica creates or renews the root.</summary>
    public KubernetesLease Lease { get; }

    /// <summary>Loads the root from its Secret, creating it first when this replica wins the Lease and no Secret
    /// exists, or waiting for another replica to create it.</summary>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The CA (the caller owns it).</returns>
    /// <exception cref="InvalidDataException">A Secret exists but does not hold a usable CA.</exception>
    /// <exception cref="TimeoutException">No root appeared within <see cref="KubernetesCaRootOptions.WaitTimeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The API server refused a request (such as 403 Forbidden).</exception>
    public async Task<CertificateAuthority> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetUtcNow() + _options.WaitTimeout;
        string? waitingFor = null;
        while (true)
        {
            if (await TryLoadAsync(cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return existing;
            }
            if (await TryAcquireLeaseAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (await CreateAsync(cancellationToken).ConfigureAwait(false) is { } created)
                    {
                        return created;
                    }
                    continue; // another replica's Secret appeared: load it
                }
                finally
                {
                    await ReleaseLeaseAsync().ConfigureAwait(false);
                }
            }

            var holder = Lease.ObservedHolder ?? "another replica";
            if (waitingFor != holder)
            {
                waitingFor = holder;
                KubernetesLog.WaitingForCaRoot(_logger, _options.Namespace, _options.LeaseName, holder);
            }
            if (_timeProvider.GetUtcNow() >= deadline)
            {
                throw new TimeoutException(
                    $"No CA root Secret ({_options.PluggedSecretName} or {_options.SelfSignedSecretName}) appeared in namespace {_options.Namespace} within {_options.WaitTimeout}, and Lease {_options.LeaseName} stayed held by {holder}.");
            }
            await Task.Delay(_options.RetryInterval, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Loads the root from the plugged-in Secret, else the self-signed one.</summary>
    /// <param name="cancellationToken">Ends the reads.</param>
    /// <returns>The CA (the caller owns it), or null when neither Secret exists.</returns>
    /// <exception cref="InvalidDataException">A Secret exists but does not hold a usable CA.</exception>
    /// <exception cref="InvalidOperationException">The API server refused a read (such as 403 Forbidden).</exception>
    public async Task<CertificateAuthority?> TryLoadAsync(CancellationToken cancellationToken)
    {
        if (await ReadInUseAsync(cancellationToken).ConfigureAwait(false) is not { } inUse)
        {
            return null;
        }
        var authority = Load(inUse);
        KubernetesLog.CaRootLoaded(_logger, _options.Namespace, inUse.Name, authority.RootCertificate.Subject, authority.RootCertificate.SerialNumber);
        return authority;
    }

    /// <summary>The options in force.</summary>
    internal KubernetesCaRootOptions Options => _options;

    /// <summary>The lifetime of a self-signed root created or renewed here.</summary>
    internal TimeSpan RootLifetime => _authority.RootLifetime;

    /// <summary>The Secret the root was last loaded from (or stored to) by this store; null before the first load.</summary>
    internal SecretVersion? LastLoaded { get; private set; }

    /// <summary>Reads the Secret in use: the plugged-in one when it exists, else the self-signed one; null when
    /// neither exists.</summary>
    internal async Task<SecretInUse?> ReadInUseAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, plugged) in ((string, bool)[])[(_options.PluggedSecretName, true), (_options.SelfSignedSecretName, false)])
        {
            if (await ReadSecretAsync(name, cancellationToken).ConfigureAwait(false) is { } secret)
            {
                return new SecretInUse(name, plugged, secret);
            }
        }
        return null;
    }

    /// <summary>Builds the CA a Secret holds, in the <c>cacerts</c> shape or the <c>tls.crt</c> one, and remembers it
    /// as <see cref="LastLoaded"/>.</summary>
    /// <exception cref="InvalidDataException">The Secret does not hold a usable CA.</exception>
    internal CertificateAuthority Load(SecretInUse inUse)
    {
        var files = (inUse.Secret.Data ?? new Dictionary<string, byte[]>())
            .ToDictionary(e => e.Key, e => e.Value is null ? "" : Encoding.UTF8.GetString(e.Value), StringComparer.Ordinal);
        var source = $"Secret {_options.Namespace}/{inUse.Name}";
        if (IsTlsForm(files))
        {
            // cert-manager's (and Istio's alternative) form: tls.crt is the CA certificate followed by its chain,
            // tls.key its key, ca.crt the root.
            KubernetesLog.CaRootTlsForm(_logger, _options.Namespace, inUse.Name);
            files = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [CaCertsFolder.CaCertFile] = files[TlsCertKey],
                [CaCertsFolder.CertChainFile] = files[TlsCertKey],
                [CaCertsFolder.CaKeyFile] = files.GetValueOrDefault(TlsKeyKey, ""),
                [CaCertsFolder.RootCertFile] = files.GetValueOrDefault(CaCertKey, ""),
            };
            source += $" ({TlsCertKey}, {TlsKeyKey} and {CaCertKey} read as {CaCertsFolder.CaCertFile}, {CaCertsFolder.CaKeyFile} and {CaCertsFolder.RootCertFile})";
        }
        var authority = CertificateAuthority.LoadFromPem(files, source, _timeProvider);
        LastLoaded = new SecretVersion(inUse.Name, inUse.Secret.Metadata?.ResourceVersion);
        return authority;
    }

    /// <summary>Stores <paramref name="renewed"/> in the self-signed Secret <paramref name="read"/> was read from, by
    /// a replace carrying the resourceVersion read (so a Secret changed meanwhile is not overwritten).</summary>
    /// <returns>True when stored; false when the Secret changed since it was read (409 Conflict: another replica
    /// renewed it first).</returns>
    /// <exception cref="InvalidOperationException">The API server refused for another reason.</exception>
    internal async Task<bool> TryReplaceSelfSignedAsync(SecretInUse read, CertificateAuthority renewed, CancellationToken cancellationToken)
    {
        var secret = read.Secret;
        var pem = renewed.ExportPem();
        secret.Data ??= new Dictionary<string, byte[]>();
        secret.Data[CaCertsFolder.CaCertFile] = Encoding.UTF8.GetBytes(pem[CaCertsFolder.CaCertFile]);
        secret.Data[CaCertsFolder.CaKeyFile] = Encoding.UTF8.GetBytes(pem[CaCertsFolder.CaKeyFile]);
        V1Secret stored;
        try
        {
            stored = await _client.CoreV1.ReplaceNamespacedSecretAsync(secret, read.Name, _options.Namespace, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesClients.IsConflict(ex))
        {
            return false;
        }
        catch (HttpOperationException ex)
        {
            throw Refused($"replace Secret {_options.Namespace}/{read.Name}", ex);
        }
        LastLoaded = new SecretVersion(read.Name, stored.Metadata?.ResourceVersion);
        return true;
    }

    /// <summary>Takes (or renews) the Lease, logging a change of holder.</summary>
    /// <exception cref="InvalidOperationException">The API server refused.</exception>
    internal async Task<bool> TryAcquireLeaseAsync(CancellationToken cancellationToken)
    {
        var acquired = await Call(() => Lease.TryAcquireAsync(cancellationToken), $"Lease {_options.Namespace}/{_options.LeaseName}").ConfigureAwait(false);
        if (acquired && Lease.PreviousHolder != _options.ReplicaId)
        {
            KubernetesLog.LeaseAcquired(_logger, _options.Namespace, _options.LeaseName, _options.ReplicaId, Lease.PreviousHolder ?? "none");
        }
        return acquired;
    }

    /// <summary>Gives the Lease up; a failure is logged (the Lease then expires by itself).</summary>
    internal async Task ReleaseLeaseAsync()
    {
        try
        {
            await Lease.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            KubernetesLog.LeaseReleaseFailed(_logger, _options.Namespace, _options.LeaseName, ex);
        }
    }

    private static bool IsTlsForm(Dictionary<string, string> files) =>
        !HasText(files, CaCertsFolder.CaCertFile) && HasText(files, TlsCertKey) && HasText(files, TlsKeyKey);

    private static bool HasText(Dictionary<string, string> files, string key) =>
        files.TryGetValue(key, out var text) && !string.IsNullOrWhiteSpace(text);

    /// <summary>Disposes the client when it was built here.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <summary>Creates and stores a self-signed root; null when another replica's Secret got there first.</summary>
    private async Task<CertificateAuthority?> CreateAsync(CancellationToken cancellationToken)
    {
        var name = _options.SelfSignedSecretName;
        var authority = CertificateAuthority.CreateSelfSigned(_authority, _timeProvider);
        try
        {
            var pem = authority.ExportPem();
            var secret = new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Type = SecretType,
                Metadata = new V1ObjectMeta
                {
                    Name = name,
                    NamespaceProperty = _options.Namespace,
                    Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "xds-server" },
                },
                Data = new Dictionary<string, byte[]>
                {
                    [CaCertsFolder.CaCertFile] = Encoding.UTF8.GetBytes(pem[CaCertsFolder.CaCertFile]),
                    [CaCertsFolder.CaKeyFile] = Encoding.UTF8.GetBytes(pem[CaCertsFolder.CaKeyFile]),
                },
            };
            V1Secret stored;
            try
            {
                stored = await _client.CoreV1.CreateNamespacedSecretAsync(secret, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (KubernetesClients.IsConflict(ex))
            {
                KubernetesLog.CaRootCreatedElsewhere(_logger, _options.Namespace, name);
                authority.Dispose();
                return null;
            }
            catch (HttpOperationException ex)
            {
                throw Refused($"create Secret {_options.Namespace}/{name}", ex);
            }
            KubernetesLog.CaRootCreated(_logger, _options.Namespace, name, authority.RootCertificate.SerialNumber);
            LastLoaded = new SecretVersion(name, stored.Metadata?.ResourceVersion);
            return authority;
        }
        catch
        {
            authority.Dispose();
            throw;
        }
    }

    private async Task<V1Secret?> ReadSecretAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.CoreV1.ReadNamespacedSecretAsync(name, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesClients.IsNotFound(ex))
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw Refused($"read Secret {_options.Namespace}/{name}", ex);
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call, string what)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw Refused($"use {what}", ex);
        }
    }

    private static InvalidOperationException Refused(string what, Exception ex)
    {
        var hint = KubernetesClients.StatusOf(ex) is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized
            ? " Check the service account's RBAC permissions (see the remarks on KubernetesCaRootStore)."
            : "";
        return new($"The Kubernetes API server refused to {what}: {KubernetesClients.Describe(ex)}.{hint}", ex);
    }
}

/// <summary>A Secret as read, with its name and whether it is the plugged-in one.</summary>
internal sealed record SecretInUse(string Name, bool Plugged, V1Secret Secret);

/// <summary>Which Secret, at which resourceVersion, a root was loaded from.</summary>
internal sealed record SecretVersion(string Name, string? ResourceVersion);
