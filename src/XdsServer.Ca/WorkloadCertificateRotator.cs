using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca;

/// <summary>
/// Holds the current certificate and key of each workload identity it is given and keeps them fresh: each
/// certificate is renewed at <see cref="WorkloadCertificateRotatorOptions.RenewalFraction"/> of its lifetime,
/// shifted by a random jitter, so always before it expires; on a root rotation every identity is reissued under
/// the new root at once; when the trust bundle changes every credential gets the new bundle.
/// <see cref="CredentialChanged"/> reports each new credential (for example to publish it over SDS).
/// </summary>
/// <remarks>
/// Keys are ECDSA P-256, made here. All timing comes from the <see cref="TimeProvider"/>; with a fake clock and a
/// seeded <see cref="Random"/> the schedule is deterministic. Events are raised outside the rotator's lock, on the
/// thread that caused the change (the caller of <see cref="Add"/>, or a timer).
/// </remarks>
public sealed class WorkloadCertificateRotator : IDisposable
{
    private readonly Lock _lock = new();
    private readonly RotatingCertificateAuthority _authority;
    private readonly WorkloadCertificateRotatorOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Random _random;
    private readonly Dictionary<SpiffeId, Entry> _entries = [];
    private bool _disposed;

    /// <summary>Creates a rotator issuing from <paramref name="authority"/>.</summary>
    /// <param name="authority">The CA, followed across root rotations.</param>
    /// <param name="options">Renewal timing.</param>
    /// <param name="timeProvider">The clock for renewal timers.</param>
    /// <param name="random">The jitter source; pass a seeded one for a reproducible schedule.</param>
    public WorkloadCertificateRotator(RotatingCertificateAuthority authority, WorkloadCertificateRotatorOptions? options = null,
        TimeProvider? timeProvider = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        options ??= new WorkloadCertificateRotatorOptions();
        options.Validate();
        _authority = authority;
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _random = random ?? Random.Shared;
        _authority.RootRotated += OnRootRotated;
        _authority.TrustBundleChanged += OnTrustBundleChanged;
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

    /// <summary>Issues a first certificate for <paramref name="identity"/> and keeps it renewed; returns the
    /// current credential when the identity is already held.</summary>
    public WorkloadCredential Add(SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        WorkloadCredential credential;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(identity, out var existing))
            {
                return existing.Credential!;
            }
            var entry = new Entry(identity);
            credential = IssueLocked(entry);
            _entries.Add(identity, entry);
        }
        Raise(credential, WorkloadCredentialChangeReason.Issued);
        return credential;
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

    /// <summary>Issues a new certificate and key for <paramref name="entry"/> and schedules its renewal.</summary>
    private WorkloadCredential IssueLocked(Entry entry)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=" + entry.Identity.Path.TrimStart('/'), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var now = _timeProvider.GetUtcNow();
        var certificate = _authority.Issuer.Issue(csr, entry.Identity, _options.Lifetime);

        // Lifetime from now, not from NotBefore (which is set back for clock skew).
        var lifetime = certificate.NotAfter - now;
        var jitter = (_random.NextDouble() * 2 - 1) * _options.JitterFraction;
        var delay = lifetime * (_options.RenewalFraction + jitter);
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        entry.Timer?.Dispose();
        entry.Credential = new WorkloadCredential
        {
            Certificate = certificate,
            PrivateKeyPem = key.ExportPkcs8PrivateKeyPem(),
            TrustBundle = _authority.TrustBundle,
            RenewAt = now + delay,
            Generation = (entry.Credential?.Generation ?? 0) + 1,
        };
        // A zero due time would fire on this thread under the lock; renewal then runs on the timer's thread.
        entry.Timer = _timeProvider.CreateTimer(static state => ((Renewal)state!).Run(), new Renewal(this, entry),
            delay > TimeSpan.Zero ? delay : TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
        return entry.Credential;
    }

    private void Renew(Entry entry)
    {
        WorkloadCredential credential;
        lock (_lock)
        {
            // The entry may have been removed, or replaced by a reissue, since the timer was set.
            if (_disposed || !_entries.TryGetValue(entry.Identity, out var current) || !ReferenceEquals(current, entry))
            {
                return;
            }
            credential = IssueLocked(entry);
        }
        Raise(credential, WorkloadCredentialChangeReason.Renewed);
    }

    private void OnRootRotated(object? sender, TrustBundleChangedEventArgs e)
    {
        List<WorkloadCredential> reissued;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            reissued = [.. _entries.Values.Select(IssueLocked)];
        }
        foreach (var credential in reissued)
        {
            Raise(credential, WorkloadCredentialChangeReason.RootRotated);
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

    private void Raise(WorkloadCredential credential, WorkloadCredentialChangeReason reason) =>
        CredentialChanged?.Invoke(this, new WorkloadCredentialChangedEventArgs(credential, reason));

    private sealed class Entry(SpiffeId identity)
    {
        public SpiffeId Identity { get; } = identity;

        public WorkloadCredential? Credential { get; set; }

        public ITimer? Timer { get; set; }
    }

    private sealed record Renewal(WorkloadCertificateRotator Rotator, Entry Entry)
    {
        public void Run() => Rotator.Renew(Entry);
    }
}
