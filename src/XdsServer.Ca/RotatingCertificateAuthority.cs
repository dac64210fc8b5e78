using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca;

/// <summary>
/// The CA as workloads see it over time: the authority that signs now, and the trust bundle. A root rotation
/// (<see cref="Rotate"/>) makes a new authority sign at once while the old root stays in the bundle for an
/// overlap period, so peers holding certificates under either root keep trusting each other; when the overlap
/// ends the old root leaves the bundle and <see cref="TrustBundleChanged"/> is raised.
/// </summary>
/// <remarks>Owns the authorities it is given and disposes them with itself.</remarks>
public sealed class RotatingCertificateAuthority : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly WorkloadCertificateOptions _options;
    private readonly List<CertificateAuthority> _owned = [];
    private readonly List<RetiringRoot> _retiring = [];
    private CertificateAuthority _current;
    private WorkloadCertificateIssuer _issuer;
    private TrustBundle _bundle;
    private bool _disposed;

    /// <summary>Starts with <paramref name="initial"/> signing and its root alone in the bundle.</summary>
    /// <param name="initial">The authority that signs first.</param>
    /// <param name="options">Workload certificate lifetimes for the issuers made here.</param>
    /// <param name="timeProvider">The clock for issuing and for ending overlaps.</param>
    public RotatingCertificateAuthority(CertificateAuthority initial, WorkloadCertificateOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _options = options ?? new WorkloadCertificateOptions();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _current = initial;
        _owned.Add(initial);
        _issuer = new WorkloadCertificateIssuer(initial, _options, _timeProvider);
        // The sequence starts at the clock's Unix seconds and never goes back, so it keeps rising across restarts
        // (a consumer must not see a lower spiffe_sequence with other roots) as long as the clock does.
        _bundle = new TrustBundle([initial.RootCertificate], Math.Max(1, _timeProvider.GetUtcNow().ToUnixTimeSeconds()));
    }

    /// <summary>Raised after <see cref="Rotate"/> has made a new authority the signer (the bundle then holds both roots).</summary>
    public event EventHandler<TrustBundleChangedEventArgs>? RootRotated;

    /// <summary>Raised whenever the trust bundle changes: on a rotation and when an overlap ends.</summary>
    public event EventHandler<TrustBundleChangedEventArgs>? TrustBundleChanged;

    /// <summary>The authority that signs new certificates.</summary>
    public CertificateAuthority Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>An issuer signing with <see cref="Current"/>.</summary>
    public WorkloadCertificateIssuer Issuer
    {
        get
        {
            lock (_lock)
            {
                return _issuer;
            }
        }
    }

    /// <summary>The roots to trust now: the current root first, then roots still in their overlap.</summary>
    public TrustBundle TrustBundle
    {
        get
        {
            lock (_lock)
            {
                return _bundle;
            }
        }
    }

    /// <summary>The previous roots still trusted during a rotation's overlap, with when each leaves the bundle.</summary>
    internal IReadOnlyList<(X509Certificate2 Root, DateTimeOffset Until)> RetiringRoots
    {
        get
        {
            lock (_lock)
            {
                return [.. _retiring.OrderByDescending(r => r.Until).Select(r => (r.Root, r.Until))];
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="next"/> the signing authority now; the previous roots stay in the trust bundle until
    /// <paramref name="overlap"/> has passed (at least as long as certificates under the old root live).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="overlap"/> is negative, or <paramref name="next"/> has the current root.</exception>
    public void Rotate(CertificateAuthority next, TimeSpan overlap)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentOutOfRangeException.ThrowIfLessThan(overlap, TimeSpan.Zero);
        TrustBundle bundle;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (next.RootCertificate.RawDataMemory.Span.SequenceEqual(_current.RootCertificate.RawDataMemory.Span))
            {
                throw new ArgumentException("The new authority has the current root; a root rotation needs a new root.", nameof(next));
            }
            var old = _current.RootCertificate;
            _current = next;
            _owned.Add(next);
            _issuer = new WorkloadCertificateIssuer(next, _options, _timeProvider);
            if (overlap > TimeSpan.Zero)
            {
                var retiring = new RetiringRoot(old, _timeProvider.GetUtcNow() + overlap);
                _retiring.Add(retiring);
                // Created under the lock, but a positive due time never fires synchronously.
                retiring.Timer = _timeProvider.CreateTimer(_ => EndOverlap(retiring), null, overlap, Timeout.InfiniteTimeSpan);
            }
            bundle = _bundle = BuildBundle();
        }
        var args = new TrustBundleChangedEventArgs(bundle);
        RootRotated?.Invoke(this, args);
        TrustBundleChanged?.Invoke(this, args);
    }

    /// <summary>
    /// Makes <paramref name="next"/>, whose root is the current root, the signing authority now: a new
    /// intermediate (or key) under the same root, such as a plugged-in CA re-issued by its root. The trust bundle
    /// is unchanged, so no event is raised; certificates issued before keep verifying, as they chain to the same
    /// root.
    /// </summary>
    /// <param name="next">The authority that signs from now on.</param>
    /// <exception cref="ArgumentException"><paramref name="next"/> has another root (that is a <see cref="Rotate"/>).</exception>
    public void ReplaceSigner(CertificateAuthority next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!next.RootCertificate.RawDataMemory.Span.SequenceEqual(_current.RootCertificate.RawDataMemory.Span))
            {
                throw new ArgumentException("The new authority has another root; a new root is a rotation (Rotate).", nameof(next));
            }
            _current = next;
            _owned.Add(next);
            _issuer = new WorkloadCertificateIssuer(next, _options, _timeProvider);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (var retiring in _retiring)
            {
                retiring.Timer?.Dispose();
            }
            _retiring.Clear();
            foreach (var authority in _owned)
            {
                authority.Dispose();
            }
        }
    }

    private void EndOverlap(RetiringRoot retiring)
    {
        TrustBundle bundle;
        lock (_lock)
        {
            if (_disposed || !_retiring.Remove(retiring))
            {
                return;
            }
            retiring.Timer?.Dispose();
            bundle = _bundle = BuildBundle();
        }
        TrustBundleChanged?.Invoke(this, new TrustBundleChangedEventArgs(bundle));
    }

    // Each new bundle gets the next sequence number (SPIFFE spiffe_sequence: changed whenever the contents change).
    private TrustBundle BuildBundle() =>
        new([_current.RootCertificate, .. _retiring.OrderByDescending(r => r.Until).Select(r => r.Root)], 
            Math.Max(checked(_bundle.SequenceNumber + 1), _timeProvider.GetUtcNow().ToUnixTimeSeconds()));

    private sealed class RetiringRoot(X509Certificate2 root, DateTimeOffset until)
    {
        public X509Certificate2 Root { get; } = root;

        public DateTimeOffset Until { get; } = until;

        public ITimer? Timer { get; set; }
    }
}

/// <summary>The trust bundle after a change.</summary>
/// <param name="bundle">The bundle now in force.</param>
public sealed class TrustBundleChangedEventArgs(TrustBundle bundle) : EventArgs
{
    /// <summary>The bundle now in force.</summary>
    public TrustBundle TrustBundle { get; } = bundle;
}
