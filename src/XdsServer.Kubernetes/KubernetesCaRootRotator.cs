using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s.Autorest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// Keeps a <see cref="RotatingCertificateAuthority"/> on the root that the Kubernetes Secrets of a
/// <see cref="KubernetesCaRootStore"/> hold, and renews a self-signed root before it ends. Every
/// <see cref="KubernetesCaRootOptions.RotationCheckInterval"/> it reads the Secret in use (<c>cacerts</c> when it
/// exists, else <c>istio-ca-secret</c>), then:
/// <list type="bullet">
/// <item>when the Secret holds another CA than the one signing here (another replica renewed the root, or an operator
/// replaced <c>cacerts</c>), loads it and makes it sign (<see cref="RotatingCertificateAuthority.Rotate"/>, or
/// <see cref="RotatingCertificateAuthority.ReplaceSigner"/> for a new intermediate under the same root);</item>
/// <item>when the self-signed root has less than <see cref="KubernetesCaRootOptions.RotationGracePercent"/> of its
/// lifetime left, renews it, on the replica holding the Lease only: that replica reads the Secret again, creates a
/// root with the same key and subject (<see cref="CertificateAuthority.RenewSelfSigned"/>, as istiod does), stores it
/// by a replace carrying the <c>resourceVersion</c> read, signs under it, and releases the Lease. Should another
/// replica have changed the Secret meanwhile, the replace is refused (409 Conflict) and the stored root is loaded
/// instead, so there is one renewal however many replicas find the root due. The other replicas load the renewed
/// root at their next check;</item>
/// <item>when a plugged-in CA (any certificate of its chain) is that near its end, logs a warning: a plugged-in CA is
/// the operator's to renew, never rotated here.</item>
/// </list>
/// </summary>
/// <remarks>
/// <para><b>How long the previous root stays trusted.</b> After a rotation the previous root stays in the trust
/// bundle for the longest workload certificate lifetime (<see cref="WorkloadCertificateOptions.MaxLifetime"/>) plus
/// one <see cref="KubernetesCaRootOptions.RotationCheckInterval"/>, but never past the previous root's NotAfter. Every
/// certificate issued under the previous root ends within that time: this replica stops signing under it at once,
/// another replica at its next check at the latest, and no certificate outlives <c>MaxLifetime</c>; a root past its
/// NotAfter verifies nothing, so trusting it longer gains nothing. Trusting it until its own NotAfter instead (which
/// may be years away) would keep a root an operator replaced, perhaps because its key leaked, trusted long after the
/// last certificate under it ended. A self-signed root renewed here keeps its key and subject, so certificates under
/// either root verify against either root certificate anyway; the overlap matters for a root with a new key.</para>
/// <para>A failed check (the API server refusing or unreachable, a malformed Secret) is logged and changes nothing:
/// the CA in use keeps signing, and the next check tries again. The host is never stopped by a check. The service
/// account needs <c>update</c> on <c>secrets</c> besides what <see cref="KubernetesCaRootStore"/> needs.</para>
/// </remarks>
public sealed class KubernetesCaRootRotator : BackgroundService
{
    private readonly KubernetesCaRootStore _store;
    private readonly RotatingCertificateAuthority _authority;
    private readonly KubernetesCaRootOptions _options;
    private readonly WorkloadCertificateOptions _workload;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _checking = new(1, 1);
    private SecretVersion? _inUse;

    /// <summary>Creates a rotator; nothing is read until a check.</summary>
    /// <param name="store">The store the Secrets are read from and written to (its options give the interval and
    /// grace percentage); not disposed here.</param>
    /// <param name="authority">The CA to rotate, loaded by <paramref name="store"/> (its last load is taken as the
    /// Secret in use; without one, the first check compares the Secret's CA with the one signing).</param>
    /// <param name="workload">The workload certificate lifetimes the CA issues with, for the overlap (see the
    /// remarks); the defaults when null.</param>
    /// <param name="timeProvider">The clock of the checks and of certificate validity; the system clock when null.</param>
    /// <param name="logger">Receives rotations, renewals, warnings and failures; none when null. Keys are never logged.</param>
    public KubernetesCaRootRotator(KubernetesCaRootStore store, RotatingCertificateAuthority authority, WorkloadCertificateOptions? workload = null,
        TimeProvider? timeProvider = null, ILogger<KubernetesCaRootRotator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(authority);
        _store = store;
        _authority = authority;
        _options = store.Options;
        _workload = workload ?? new WorkloadCertificateOptions();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _inUse = store.LastLoaded;
    }

    /// <summary>Raised after each check of the background loop, with its result (for monitoring and tests).</summary>
    internal event Action<KubernetesCaRootCheckResult>? Checked;

    /// <summary>Checks once, now: picks up a changed Secret, renews a self-signed root that is due (when this replica
    /// gets the Lease), warns of a plugged-in CA near its end. A check already running is waited for.</summary>
    /// <param name="cancellationToken">Ends the check.</param>
    /// <returns>What the check found and did; <see cref="KubernetesCaRootCheckResult.Failed"/> when it failed (logged).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<KubernetesCaRootCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        await _checking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CheckCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsCheckFailure(ex, cancellationToken))
        {
            KubernetesLog.CaRootCheckFailed(_logger, _options.Namespace, _authority.Current.RootCertificate.SerialNumber, _options.RotationCheckInterval, ex);
            return KubernetesCaRootCheckResult.Failed;
        }
        finally
        {
            _checking.Release();
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        base.Dispose();
        _checking.Dispose();
    }

    /// <summary>Checks every <see cref="KubernetesCaRootOptions.RotationCheckInterval"/> (the first one interval after
    /// start: the root was loaded just before) until the host stops.</summary>
    /// <param name="stoppingToken">Ends the loop.</param>
    /// <returns>The loop.</returns>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        KubernetesLog.CaRootRotatorStarted(_logger, _options.RotationCheckInterval, _options.Namespace, _options.PluggedSecretName,
            _options.SelfSignedSecretName, _options.RotationGracePercent);
        while (!stoppingToken.IsCancellationRequested)
        {
            KubernetesCaRootCheckResult result;
            try
            {
                await Task.Delay(_options.RotationCheckInterval, _timeProvider, stoppingToken).ConfigureAwait(false);
                result = await CheckAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A check must never stop the host: whatever it throws is logged, and retried next time.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                KubernetesLog.CaRootCheckFailed(_logger, _options.Namespace, _authority.Current.RootCertificate.SerialNumber, _options.RotationCheckInterval, ex);
                result = KubernetesCaRootCheckResult.Failed;
            }
            Checked?.Invoke(result);
        }
    }

    private async Task<KubernetesCaRootCheckResult> CheckCoreAsync(CancellationToken cancellationToken)
    {
        if (await _store.ReadInUseAsync(cancellationToken).ConfigureAwait(false) is not { } inUse)
        {
            return SecretsGone();
        }
        var result = IsInUse(inUse) ? KubernetesCaRootCheckResult.Unchanged : Adopt(inUse);
        var current = _authority.Current;
        if (inUse.Plugged)
        {
            if (current.CertificateChain.Where(IsDue).OrderBy(c => c.NotAfter).FirstOrDefault() is { } ending)
            {
                KubernetesLog.PluggedCaExpiring(_logger, _options.Namespace, inUse.Name, ending.Subject, ending.SerialNumber, NotAfter(ending),
                    _options.RotationGracePercent, _options.RotationCheckInterval);
                return result == KubernetesCaRootCheckResult.Unchanged ? KubernetesCaRootCheckResult.PluggedCaExpiring : result;
            }
            return result;
        }
        if (!IsDue(current.RootCertificate))
        {
            return result;
        }
        return await RenewAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Renews the self-signed root under the Lease, or learns that another replica holds it.</summary>
    private async Task<KubernetesCaRootCheckResult> RenewAsync(CancellationToken cancellationToken)
    {
        if (!await _store.TryAcquireLeaseAsync(cancellationToken).ConfigureAwait(false))
        {
            KubernetesLog.CaRootRenewalDeferred(_logger, _authority.Current.RootCertificate.SerialNumber, _options.Namespace, _options.LeaseName,
                _store.Lease.ObservedHolder ?? "another replica", _options.RotationCheckInterval);
            return KubernetesCaRootCheckResult.RenewalDeferred;
        }
        try
        {
            // Read again under the Lease: a replica that held it before may have renewed the root meanwhile.
            if (await _store.ReadInUseAsync(cancellationToken).ConfigureAwait(false) is not { } read)
            {
                return SecretsGone();
            }
            if (!IsInUse(read))
            {
                var adopted = Adopt(read);
                if (read.Plugged || !IsDue(_authority.Current.RootCertificate))
                {
                    return adopted;
                }
            }

            var previous = _authority.Current;
            KubernetesLog.CaRootRenewing(_logger, previous.RootCertificate.SerialNumber, NotAfter(previous.RootCertificate), _options.RotationGracePercent);
            var renewed = previous.RenewSelfSigned(_store.RootLifetime, _timeProvider);
            bool stored;
            try
            {
                stored = await _store.TryReplaceSelfSignedAsync(read, renewed, cancellationToken).ConfigureAwait(false);
                if (stored)
                {
                    var overlap = Overlap(previous.RootCertificate);
                    _authority.Rotate(renewed, overlap);
                    _inUse = _store.LastLoaded;
                    KubernetesLog.CaRootRenewed(_logger, _options.Namespace, read.Name, previous.RootCertificate.SerialNumber,
                        renewed.RootCertificate.SerialNumber, NotAfter(renewed.RootCertificate), overlap);
                    return KubernetesCaRootCheckResult.Renewed;
                }
            }
            catch when (!ReferenceEquals(_authority.Current, renewed))
            {
                renewed.Dispose();
                throw;
            }
            renewed.Dispose();
            KubernetesLog.CaRootRenewedElsewhere(_logger, _options.Namespace, read.Name);
            return await _store.ReadInUseAsync(cancellationToken).ConfigureAwait(false) is { } theirs
                ? Adopt(theirs)
                : SecretsGone();
        }
        finally
        {
            await _store.ReleaseLeaseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Makes the CA of <paramref name="inUse"/> the one signing here, unless it is that already.</summary>
    /// <exception cref="InvalidDataException">The Secret holds no usable CA.</exception>
    private KubernetesCaRootCheckResult Adopt(SecretInUse inUse)
    {
        var next = _store.Load(inUse);
        var version = inUse.Secret.Metadata?.ResourceVersion ?? "";
        try
        {
            var current = _authority.Current;
            var sameRoot = SameCertificate(next.RootCertificate, current.RootCertificate);
            if (sameRoot && SameCertificate(next.SigningCertificate, current.SigningCertificate))
            {
                next.Dispose();
                KubernetesLog.CaRootSecretTouched(_logger, _options.Namespace, inUse.Name, version);
                _inUse = _store.LastLoaded;
                return KubernetesCaRootCheckResult.Unchanged;
            }
            if (sameRoot)
            {
                _authority.ReplaceSigner(next);
                KubernetesLog.CaSignerChanged(_logger, _options.Namespace, inUse.Name, next.SigningCertificate.Subject, next.SigningCertificate.SerialNumber);
            }
            else
            {
                var overlap = Overlap(current.RootCertificate);
                _authority.Rotate(next, overlap);
                KubernetesLog.CaRootChanged(_logger, _options.Namespace, inUse.Name, next.RootCertificate.SerialNumber,
                    current.RootCertificate.SerialNumber, version, overlap);
            }
        }
        catch when (!ReferenceEquals(_authority.Current, next))
        {
            next.Dispose();
            throw;
        }
        _inUse = _store.LastLoaded;
        return KubernetesCaRootCheckResult.Reloaded;
    }

    private KubernetesCaRootCheckResult SecretsGone()
    {
        KubernetesLog.CaRootSecretsGone(_logger, _options.Namespace, _options.PluggedSecretName, _options.SelfSignedSecretName,
            _authority.Current.RootCertificate.SerialNumber);
        return KubernetesCaRootCheckResult.SecretsMissing;
    }

    private bool IsInUse(SecretInUse secret) =>
        _inUse is { } loaded && loaded.Name == secret.Name && loaded.ResourceVersion is { } version && version == secret.Secret.Metadata?.ResourceVersion;

    /// <summary>Whether less than the grace percentage of <paramref name="certificate"/>'s lifetime is left.</summary>
    private bool IsDue(X509Certificate2 certificate)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = NotAfter(certificate);
        var left = notAfter - _timeProvider.GetUtcNow();
        return left < (notAfter - notBefore) * (_options.RotationGracePercent / 100.0);
    }

    /// <summary>How long the previous root stays trusted (see the remarks on the class).</summary>
    private TimeSpan Overlap(X509Certificate2 previousRoot)
    {
        var untilItEnds = NotAfter(previousRoot) - _timeProvider.GetUtcNow();
        var certificatesUnderIt = _workload.MaxLifetime + _options.RotationCheckInterval;
        var overlap = untilItEnds < certificatesUnderIt ? untilItEnds : certificatesUnderIt;
        return overlap > TimeSpan.Zero ? overlap : TimeSpan.Zero;
    }

    private static DateTimeOffset NotAfter(X509Certificate2 certificate) => new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    private static bool SameCertificate(X509Certificate2 a, X509Certificate2 b) => a.RawDataMemory.Span.SequenceEqual(b.RawDataMemory.Span);

    private static bool IsCheckFailure(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // an HTTP timeout, not the caller
        HttpOperationException or HttpRequestException or InvalidOperationException or InvalidDataException or CryptographicException
            or ArgumentException => true,
        _ => false,
    };
}
