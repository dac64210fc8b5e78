using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>
/// Holds the current certificate and key of each workload identity it is given and keeps them fresh: each
/// certificate is renewed at <see cref="WorkloadCertificateRotatorOptions.RenewalFraction"/> of its lifetime,
/// shifted by a random jitter, so always before it expires; on a root rotation every identity is reissued under
/// the new root at once; when the trust bundle changes every credential gets the new bundle.
/// <see cref="CredentialChanged"/> reports each new credential (for example to publish it over SDS).
/// </summary>
/// <remarks>
/// <para>Keys are ECDSA P-256, made here. All timing comes from the <see cref="TimeProvider"/>; with a fake clock and a
/// seeded <see cref="Random"/> the schedule is deterministic. Events are raised outside the rotator's lock, on the
/// thread that caused the change (the caller of <see cref="Add"/> or of <see cref="RotatingCertificateAuthority.Rotate"/>,
/// or a timer); an exception thrown by a handler is logged, not passed on.</para>
/// <para>A failed renewal or reissue (for example once the CA chain has expired) never escapes a timer: it is
/// logged, the identity keeps its current credential, and the issue is retried with exponential backoff and
/// jitter (<see cref="WorkloadCertificateRotatorOptions.RetryInitialDelay"/> doubling up to
/// <see cref="WorkloadCertificateRotatorOptions.RetryMaxDelay"/>); <see cref="Health"/> reports it. A certificate
/// cut short by the end of the CA chain cannot be renewed into a longer one, so its renewal is due when the chain
/// ends; a root rotation reissues it under the new root before that.</para>
/// <para>Certificates are signed outside the rotator's lock (the CA serialises signing itself), so a root rotation
/// over many identities does not stop renewals, <see cref="Get"/> or <see cref="Add"/> of other identities.</para>
/// </remarks>
public sealed class WorkloadCertificateRotator : IDisposable
{
    private readonly Lock _lock = new();
    private readonly RotatingCertificateAuthority _authority;
    private readonly WorkloadCertificateRotatorOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly CaMetrics? _metrics;
    private readonly Dictionary<SpiffeId, Entry> _entries = [];
    private (DateTimeOffset At, SpiffeId Identity, string Message)? _lastFailure;
    private bool _disposed;

    /// <summary>Creates a rotator issuing from <paramref name="authority"/>.</summary>
    /// <param name="authority">The CA, followed across root rotations.</param>
    /// <param name="options">Renewal and retry timing.</param>
    /// <param name="timeProvider">The clock for renewal timers.</param>
    /// <param name="random">The jitter source; pass a seeded one for a reproducible schedule.</param>
    /// <param name="logger">Where failures and recoveries are logged; nowhere when null.</param>
    /// <remarks>A rotator made here is counted by no meter; the one <c>AddWorkloadSecrets()</c> registers is counted
    /// by the host's gauge <c>xds.ca.identities.held</c> (meter <c>XdsServer.Ca</c>).</remarks>
    public WorkloadCertificateRotator(RotatingCertificateAuthority authority, WorkloadCertificateRotatorOptions? options = null,
        TimeProvider? timeProvider = null, Random? random = null, ILogger<WorkloadCertificateRotator>? logger = null)
        : this(authority, options, timeProvider, random, logger, metrics: null)
    {
    }

    /// <summary>Creates a rotator whose identities <paramref name="metrics"/> counts (until it is disposed).</summary>
    internal WorkloadCertificateRotator(RotatingCertificateAuthority authority, WorkloadCertificateRotatorOptions? options,
        TimeProvider? timeProvider, Random? random, ILogger<WorkloadCertificateRotator>? logger, CaMetrics? metrics)
    {
        ArgumentNullException.ThrowIfNull(authority);
        options ??= new WorkloadCertificateRotatorOptions();
        options.Validate();
        _authority = authority;
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _random = random ?? Random.Shared;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _authority.RootRotated += OnRootRotated;
        _authority.TrustBundleChanged += OnTrustBundleChanged;
        _metrics = metrics;
        _metrics?.Track(this);
    }

    /// <summary>Raised with every new credential: first issue, renewal, reissue under a new root, new bundle.</summary>
    public event EventHandler<WorkloadCredentialChangedEventArgs>? CredentialChanged;

    /// <summary>The identities held.</summary>
    public IReadOnlyList<SpiffeId> Identities
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries.Keys];
            }
        }
    }

    /// <summary>How many identities are held (the gauge <c>xds.ca.identities.held</c> reports it).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Whether renewals are on track: failing identities, consecutive failures, the last failure.</summary>
    public WorkloadCertificateRotatorHealth Health
    {
        get
        {
            lock (_lock)
            {
                var failing = 0;
                var consecutive = 0;
                DateTimeOffset? nextRetry = null;
                foreach (var entry in _entries.Values)
                {
                    if (entry.Failures == 0)
                    {
                        continue;
                    }
                    failing++;
                    consecutive = Math.Max(consecutive, entry.Failures);
                    if (nextRetry is null || entry.RetryAt < nextRetry)
                    {
                        nextRetry = entry.RetryAt;
                    }
                }
                return new WorkloadCertificateRotatorHealth
                {
                    HeldIdentities = _entries.Count,
                    FailingIdentities = failing,
                    ConsecutiveFailures = consecutive,
                    NextRetryAt = nextRetry,
                    LastFailureAt = _lastFailure?.At,
                    LastFailureIdentity = _lastFailure?.Identity,
                    LastFailureMessage = _lastFailure?.Message,
                };
            }
        }
    }

    /// <summary>Issues a first certificate for <paramref name="identity"/> and keeps it renewed; returns the
    /// current credential when the identity is already held.</summary>
    /// <exception cref="InvalidOperationException">The first certificate cannot be issued (for example the CA
    /// chain has expired); the identity is then not held.</exception>
    public WorkloadCredential Add(SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        while (true)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_entries.TryGetValue(identity, out var existing))
                {
                    return existing.Credential!;
                }
            }

            // A failure here reaches the caller, and nothing has been recorded for the identity.
            var issuer = _authority.Issuer;
            var issued = Issue(identity, issuer);
            WorkloadCredential credential;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_entries.TryGetValue(identity, out var existing))
                {
                    return existing.Credential!; // a concurrent Add won; ours is dropped
                }
                if (!ReferenceEquals(issuer, _authority.Issuer))
                {
                    continue; // the root rotated while signing, and its reissue did not see this identity
                }
                var entry = new Entry(identity);
                credential = InstallLocked(entry, issued);
                _entries.Add(identity, entry);
            }
            Raise(credential, WorkloadCredentialChangeReason.Issued);
            return credential;
        }
    }

    /// <summary>The current credential of <paramref name="identity"/>, or null when it is not held.</summary>
    public WorkloadCredential? Get(SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        lock (_lock)
        {
            return _entries.TryGetValue(identity, out var entry) ? entry.Credential : null;
        }
    }

    /// <summary>Stops renewing <paramref name="identity"/> and forgets its credential.</summary>
    /// <returns>False when the identity was not held.</returns>
    public bool Remove(SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        lock (_lock)
        {
            if (!_entries.Remove(identity, out var entry))
            {
                return false;
            }
            entry.Timer?.Dispose();
            return true;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _authority.RootRotated -= OnRootRotated;
        _authority.TrustBundleChanged -= OnTrustBundleChanged;
        _metrics?.Untrack(this);
        lock (_lock)
        {
            _disposed = true;
            foreach (var entry in _entries.Values)
            {
                entry.Timer?.Dispose();
            }
            _entries.Clear();
        }
    }

    /// <summary>Fault injection for tests: runs before each signing, outside the lock; what it throws is what the
    /// issuer would have thrown. Null (always, outside tests).</summary>
    internal Action<SpiffeId>? BeforeIssue { get; set; }

    /// <summary>Makes a key and has <paramref name="issuer"/> sign a certificate for it; no lock is held.</summary>
    private Issued Issue(SpiffeId identity, WorkloadCertificateIssuer issuer)
    {
        BeforeIssue?.Invoke(identity);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=" + identity.Path.TrimStart('/'), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var certificate = issuer.Issue(csr, identity, _options.Lifetime);
        return new Issued(certificate, key.ExportPkcs8PrivateKeyPem(), issuer);
    }

    /// <summary>Makes <paramref name="issued"/> the entry's credential and schedules its renewal.</summary>
    private WorkloadCredential InstallLocked(Entry entry, Issued issued)
    {
        var now = _timeProvider.GetUtcNow();
        var certificate = issued.Certificate;

        // Lifetime from now, not from NotBefore (which is set back for clock skew).
        var lifetime = certificate.NotAfter - now;
        var jitter = (_random.NextDouble() * 2 - 1) * _options.JitterFraction;
        var delay = lifetime * (_options.RenewalFraction + jitter);
        if (certificate.NotAfter >= AuthorityChain.End(issued.Issuer.Authority))
        {
            // Cut short by the chain: a renewal before the chain ends would end at the same time, so renew only
            // when it does (that attempt fails and is retried until a new root is in place; a rotation reissues first).
            delay = lifetime;
        }
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        if (entry.Failures > 0)
        {
            CaLog.RotationRecovered(_logger, ClientText.ForLog(entry.Identity.ToString()), entry.Failures);
        }
        entry.Timer?.Dispose();
        entry.Credential = new WorkloadCredential
        {
            Certificate = certificate,
            PrivateKeyPem = issued.PrivateKeyPem,
            TrustBundle = _authority.TrustBundle,
            RenewAt = now + delay,
            Generation = (entry.Credential?.Generation ?? 0) + 1,
        };
        entry.Issuer = issued.Issuer;
        entry.IssueCount++;
        entry.Failures = 0;
        entry.RetryAt = null;
        entry.Timer = ScheduleLocked(entry, delay);
        return entry.Credential;
    }

    /// <summary>A timer renewing <paramref name="entry"/> after <paramref name="delay"/>.</summary>
    private ITimer ScheduleLocked(Entry entry, TimeSpan delay) =>
        // A zero due time would fire on this thread under the lock; renewal then runs on the timer's thread.
        _timeProvider.CreateTimer(static state => ((Renewal)state!).Run(), new Renewal(this, entry),
            delay > TimeSpan.Zero ? delay : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);

    /// <summary>Runs on a timer: renews the entry's certificate, or retries a failed renewal or reissue.</summary>
    private void Renew(Entry entry)
    {
        long issueCount;
        lock (_lock)
        {
            // The entry may have been removed, or replaced by a reissue, since the timer was set.
            if (_disposed || !IsCurrentLocked(entry))
            {
                return;
            }
            issueCount = entry.IssueCount;
        }

        var issuer = _authority.Issuer;
        Issued issued;
        try
        {
            issued = Issue(entry.Identity, issuer);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Unless something else has replaced the certificate meanwhile, try again later.
            Fail(entry, WorkloadCredentialChangeReason.Renewed, ex, held => held.IssueCount == issueCount);
            return;
        }

        WorkloadCredential credential;
        lock (_lock)
        {
            // Replaced meanwhile (a reissue under a new root), or signed by a root that has since been rotated out
            // (the rotation's reissue replaces this certificate, or schedules a retry when it cannot).
            if (_disposed || !IsCurrentLocked(entry) || entry.IssueCount != issueCount || !ReferenceEquals(issuer, _authority.Issuer))
            {
                return;
            }
            credential = InstallLocked(entry, issued);
        }
        Raise(credential, WorkloadCredentialChangeReason.Renewed);
    }

    /// <summary>
    /// Records a failed issue for <paramref name="entry"/> and schedules a retry with backoff, when
    /// <paramref name="stillDue"/> says (under the lock) the entry still needs the certificate that failed.
    /// </summary>
    private void Fail(Entry entry, WorkloadCredentialChangeReason reason, Exception exception, Func<Entry, bool> stillDue)
    {
        int attempt;
        DateTimeOffset retryAt;
        lock (_lock)
        {
            if (_disposed || !IsCurrentLocked(entry) || !stillDue(entry))
            {
                return;
            }
            var now = _timeProvider.GetUtcNow();
            attempt = ++entry.Failures;
            var delay = BackoffLocked(attempt);
            retryAt = now + delay;
            entry.RetryAt = retryAt;
            _lastFailure = (now, entry.Identity, exception.Message);
            entry.Timer?.Dispose();
            entry.Timer = ScheduleLocked(entry, delay);
        }
        CaLog.RotationIssueFailed(_logger, ClientText.ForLog(entry.Identity.ToString()), reason, exception.Message, attempt, retryAt, exception);
    }

    /// <summary>Retry <paramref name="attempt"/> waits a random time between half and all of
    /// RetryInitialDelay × 2^(attempt−1), capped at RetryMaxDelay.</summary>
    private TimeSpan BackoffLocked(int attempt) =>
        XdsServer.Internal.Backoff.Delay(_options.RetryInitialDelay, _options.RetryMaxDelay, attempt, _random);

    private bool IsCurrentLocked(Entry entry) =>
        _entries.TryGetValue(entry.Identity, out var current) && ReferenceEquals(current, entry);

    /// <summary>
    /// Reissues every identity under the new root. The entries are copied under the lock; each is signed outside
    /// it and installed only if it is still the identity's entry and was not renewed under the new root meanwhile.
    /// One identity's failure is logged and retried later; it neither stops the others nor reaches the caller of
    /// <see cref="RotatingCertificateAuthority.Rotate"/>.
    /// </summary>
    private void OnRootRotated(object? sender, TrustBundleChangedEventArgs e)
    {
        List<Entry> entries;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            entries = [.. _entries.Values];
        }

        var issuer = _authority.Issuer;
        int reissued = 0, failed = 0;
        foreach (var entry in entries)
        {
            Issued issued;
            try
            {
                issued = Issue(entry.Identity, issuer);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failed++;
                // Retried unless it was renewed under the current root meanwhile.
                Fail(entry, WorkloadCredentialChangeReason.RootRotated, ex, held => !ReferenceEquals(held.Issuer, _authority.Issuer));
                continue;
            }

            WorkloadCredential credential;
            lock (_lock)
            {
                if (_disposed || !IsCurrentLocked(entry) || ReferenceEquals(entry.Issuer, issuer) || !ReferenceEquals(issuer, _authority.Issuer))
                {
                    continue; // removed, already under this root, or a later rotation reissues it
                }
                credential = InstallLocked(entry, issued);
            }
            reissued++;
            Raise(credential, WorkloadCredentialChangeReason.RootRotated);
        }
        if (entries.Count > 0)
        {
            CaLog.RootRotationReissued(_logger, reissued, entries.Count, failed);
        }
    }

    private void OnTrustBundleChanged(object? sender, TrustBundleChangedEventArgs e)
    {
        List<WorkloadCredential> updated = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            foreach (var entry in _entries.Values)
            {
                // After a rotation the reissue already carries this bundle.
                if (!ReferenceEquals(entry.Credential!.TrustBundle, e.TrustBundle))
                {
                    entry.Credential = entry.Credential with { TrustBundle = e.TrustBundle, Generation = entry.Credential.Generation + 1 };
                    updated.Add(entry.Credential);
                }
            }
        }
        foreach (var credential in updated)
        {
            Raise(credential, WorkloadCredentialChangeReason.TrustBundleChanged);
        }
    }

    /// <summary>Raises <see cref="CredentialChanged"/>; a handler's exception is logged, never passed on (it would
    /// end the process on a timer thread, and leave the caller of <see cref="Add"/> an identity it was told failed).</summary>
    private void Raise(WorkloadCredential credential, WorkloadCredentialChangeReason reason)
    {
        try
        {
            CredentialChanged?.Invoke(this, new WorkloadCredentialChangedEventArgs(credential, reason));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            CaLog.CredentialHandlerFailed(_logger, ClientText.ForLog(credential.Identity.ToString()), reason, ex);
        }
    }

    private sealed class Entry(SpiffeId identity)
    {
        public SpiffeId Identity { get; } = identity;

        public WorkloadCredential? Credential { get; set; }

        /// <summary>The issuer of the current certificate (one per root: tells whether it is under the current root).</summary>
        public WorkloadCertificateIssuer? Issuer { get; set; }

        /// <summary>Counts installed certificates (not bundle changes): a renewal installs only if none came meanwhile.</summary>
        public long IssueCount { get; set; }

        /// <summary>Consecutive failed attempts since the last installed certificate.</summary>
        public int Failures { get; set; }

        public DateTimeOffset? RetryAt { get; set; }

        public ITimer? Timer { get; set; }
    }

    private sealed record Issued(WorkloadCertificate Certificate, string PrivateKeyPem, WorkloadCertificateIssuer Issuer);

    private sealed record Renewal(WorkloadCertificateRotator Rotator, Entry Entry)
    {
        public void Run()
        {
            try
            {
                Rotator.Renew(Entry);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Renew catches the issuer's failures; this is for anything else: on a timer thread an exception
                // would end the process.
                CaLog.RenewalCrashed(Rotator._logger, ClientText.ForLog(Entry.Identity.ToString()), ex);
            }
        }
    }
}
