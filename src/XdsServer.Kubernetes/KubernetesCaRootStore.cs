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
/// <para>Secrets are validated as <see cref="CertificateAuthority.LoadFromPem"/> does; a malformed one is refused
/// with an <see cref="InvalidDataException"/> naming the Secret and the key, never replaced. The service account needs
/// <c>get</c> and <c>create</c> on <c>secrets</c>, and <c>get</c>, <c>create</c> and <c>update</c> on
/// <c>leases</c>, in the namespace.</para>
/// </remarks>
public sealed class KubernetesCaRootStore : IDisposable
{
    /// <summary>The Secret type of a root created here, as istiod types <c>istio-ca-secret</c>.</summary>
    public const string SecretType = "istio.io/ca-root";

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

    /// <summary>The Lease that decides which replica creates the root.</summary>
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
            if (await Call(() => Lease.TryAcquireAsync(cancellationToken), $"Lease {_options.Namespace}/{_options.LeaseName}").ConfigureAwait(false))
            {
                if (Lease.PreviousHolder != _options.ReplicaId)
                {
                    KubernetesLog.LeaseAcquired(_logger, _options.Namespace, _options.LeaseName, _options.ReplicaId, Lease.PreviousHolder ?? "none");
                }
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
        foreach (var name in (string[])[_options.PluggedSecretName, _options.SelfSignedSecretName])
        {
            var secret = await ReadSecretAsync(name, cancellationToken).ConfigureAwait(false);
            if (secret is null)
            {
                continue;
            }
            var files = (secret.Data ?? new Dictionary<string, byte[]>())
                .ToDictionary(e => e.Key, e => e.Value is null ? "" : Encoding.UTF8.GetString(e.Value), StringComparer.Ordinal);
            var authority = CertificateAuthority.LoadFromPem(files, $"Secret {_options.Namespace}/{name}", _timeProvider);
            KubernetesLog.CaRootLoaded(_logger, _options.Namespace, name, authority.RootCertificate.Subject, authority.RootCertificate.SerialNumber);
            return authority;
        }
        return null;
    }

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
            try
            {
                await _client.CoreV1.CreateNamespacedSecretAsync(secret, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
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

    private async Task ReleaseLeaseAsync()
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
