using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca.Internal;
using XdsServer.Cache;

namespace XdsServer.Ca;

/// <summary>
/// Publishes each workload identity's credential as Envoy SDS secrets into a <see cref="SnapshotCache"/>: the
/// secret <see cref="DefaultSecretName"/> (certificate chain and private key) and <see cref="RootCaSecretName"/>
/// (the trust bundle), in the snapshot of that identity's node group only, so a stream sees the secrets of the
/// group its node maps to; <see cref="SpiffeNodeAuthorizer"/> makes sure a stream's node maps to the group of
/// the identity its client certificate proves. Republishes on every change the rotator reports; other resource
/// types in the group's snapshot are kept.
/// </summary>
/// <remarks>
/// <para>The group of an identity is <see cref="GroupOf"/> (the SPIFFE ID itself by default); the cache's node hash
/// must map an identity's nodes to that same group. Publishing reads the group's snapshot and writes it back,
/// so other writers of the same group must not race with it.</para>
/// <para>Identities given to <see cref="Ensure"/> are released once idle (see
/// <see cref="WorkloadSecretPublisherOptions.IdleTimeout"/>): no stream open in their group (as the cache counts
/// them with <see cref="SnapshotCache.TrackStream"/>) and no <c>Ensure</c> for that long. Identities added to the
/// rotator by other means are never released here.</para>
/// </remarks>
public sealed class WorkloadSecretPublisher : IDisposable
{
    /// <summary>Istio's name for the workload certificate secret.</summary>
    public const string DefaultSecretName = "default";

    /// <summary>Istio's name for the trust bundle secret.</summary>
    public const string RootCaSecretName = "ROOTCA";

    private readonly WorkloadCertificateRotator _rotator;
    private readonly SnapshotCache _cache;
    private readonly Lock _lock = new();
    private readonly Dictionary<SpiffeId, long> _published = [];
    private readonly Dictionary<SpiffeId, DateTimeOffset> _lastUsed = [];
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TimeSpan? _idleTimeout;
    private readonly ITimer? _sweepTimer;

    /// <summary>Publishes the rotator's current credentials now and each change from then on.</summary>
    /// <param name="rotator">The source of credentials.</param>
    /// <param name="cache">The cache the secrets go into.</param>
    /// <param name="groupOf">The node group of an identity; null means the SPIFFE ID string.</param>
    /// <param name="options">When idle identities are released; null for the defaults (after 1 hour).</param>
    /// <param name="timeProvider">The clock for idle times and the sweep timer.</param>
    /// <param name="logger">Where releases are logged; nowhere when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public WorkloadSecretPublisher(WorkloadCertificateRotator rotator, SnapshotCache cache, Func<SpiffeId, string>? groupOf = null,
        WorkloadSecretPublisherOptions? options = null, TimeProvider? timeProvider = null, ILogger<WorkloadSecretPublisher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(rotator);
        ArgumentNullException.ThrowIfNull(cache);
        options ??= new WorkloadSecretPublisherOptions();
        options.Validate();
        _rotator = rotator;
        _cache = cache;
        GroupOf = groupOf ?? (id => id.ToString());
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _idleTimeout = options.IdleTimeout;
        if (_idleTimeout is { } idle)
        {
            var period = TimeSpan.FromTicks(Math.Clamp(idle.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
            _sweepTimer = _timeProvider.CreateTimer(static state => ((WorkloadSecretPublisher)state!).Sweep(), this, period, period);
        }
        _rotator.CredentialChanged += OnCredentialChanged;
        foreach (var identity in _rotator.Identities)
        {
            if (_rotator.Get(identity) is { } credential)
            {
                Publish(credential);
            }
        }
    }

    /// <summary>The node group an identity's secrets are published to.</summary>
    public Func<SpiffeId, string> GroupOf { get; }

    /// <summary>The two secrets for <paramref name="credential"/>: <c>default</c> (chain + key, inline) and
    /// <c>ROOTCA</c> (the trust bundle as <c>trusted_ca</c>).</summary>
    public static (Secret Default, Secret RootCa) CreateSecrets(WorkloadCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var certificate = new Secret
        {
            Name = DefaultSecretName,
            TlsCertificate = new TlsCertificate
            {
                // Leaf then intermediates; the root is the peer's to have, not ours to send.
                CertificateChain = new DataSource { InlineString = string.Join('\n', credential.Certificate.CertificateChainPem.Take(Math.Max(1, credential.Certificate.CertificateChainPem.Count - 1))) + "\n" },
                PrivateKey = new DataSource { InlineString = credential.PrivateKeyPem + "\n" },
            },
        };
        var rootCa = new Secret
        {
            Name = RootCaSecretName,
            ValidationContext = new CertificateValidationContext
            {
                TrustedCa = new DataSource { InlineString = credential.TrustBundle.Pem },
            },
        };
        return (certificate, rootCa);
    }

    /// <summary>Writes <paramref name="credential"/>'s secrets into its identity's group snapshot.</summary>
    public void Publish(WorkloadCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var (certificate, rootCa) = CreateSecrets(credential);
        var group = GroupOf(credential.Identity);
        lock (_lock)
        {
            var builder = _cache.TryGetSnapshot(group, out var current) ? current.ToBuilder() : Snapshot.CreateBuilder();
            _cache.SetSnapshot(group, builder.Set(certificate).Set(rootCa).Build());
            _published[credential.Identity] = credential.Generation;
        }
    }

    /// <summary>Makes sure <paramref name="identity"/> has a credential (issuing its first one when the rotator does
    /// not hold it yet) and that its secrets are in its group's snapshot; cheap when both are already so. Call it
    /// each time a stream is let in as the identity: it marks the identity used now.</summary>
    /// <returns>The identity's current credential.</returns>
    public WorkloadCredential Ensure(SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        while (true)
        {
            _rotator.Add(identity); // a first issue publishes through CredentialChanged
            lock (_lock)
            {
                // Null when an idle release came between Add and here: add it again.
                if (_rotator.Get(identity) is not { } current)
                {
                    continue;
                }
                _lastUsed[identity] = _timeProvider.GetUtcNow();
                if (!_published.TryGetValue(identity, out var generation) || generation < current.Generation
                    || !_cache.TryGetSnapshot(GroupOf(identity), out _))
                {
                    Publish(current);
                }
                return current;
            }
        }
    }

    /// <summary>
    /// Releases the identities given to <see cref="Ensure"/> that have been idle for
    /// <see cref="WorkloadSecretPublisherOptions.IdleTimeout"/>: no stream open in their group and no
    /// <c>Ensure</c>. The rotator stops holding each, and its two secrets leave its group's snapshot (cleared when
    /// nothing else is left in it). Runs by itself on a
    /// timer; an identity with an open stream counts as used at every sweep.
    /// </summary>
    /// <returns>The identities released.</returns>
    public IReadOnlyList<SpiffeId> ReleaseIdle()
    {
        if (_idleTimeout is not { } timeout)
        {
            return [];
        }
        List<SpiffeId> released = [];
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            foreach (var (identity, lastUsed) in _lastUsed.ToList())
            {
                var group = GroupOf(identity);
                if (_cache.GetStatus(group)?.OpenStreams > 0)
                {
                    _lastUsed[identity] = now;
                    continue;
                }
                if (now - lastUsed < timeout)
                {
                    continue;
                }
                // Under the lock, so an Ensure of the same identity either came before (and counted as use) or
                // comes after and adds the identity again.
                _lastUsed.Remove(identity);
                _published.Remove(identity);
                _rotator.Remove(identity);
                Unpublish(group);
                released.Add(identity);
                CaLog.IdleIdentityReleased(_logger, ClientText.ForLog(identity.ToString()), now - lastUsed);
            }
        }
        return released;
    }

    /// <summary>Takes the two secrets out of <paramref name="group"/>'s snapshot, keeping whatever else it holds; a
    /// snapshot left empty is cleared.</summary>
    private void Unpublish(string group)
    {
        if (!_cache.TryGetSnapshot(group, out var current))
        {
            return;
        }
        var builder = current.ToBuilder();
        builder.Remove(TypeUrls.Secret, DefaultSecretName);
        builder.Remove(TypeUrls.Secret, RootCaSecretName);
        var rest = builder.Build();
        if (rest.Count == 0)
        {
            _cache.ClearSnapshot(group);
        }
        else
        {
            _cache.SetSnapshot(group, rest);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _sweepTimer?.Dispose();
        _rotator.CredentialChanged -= OnCredentialChanged;
    }

    private void Sweep()
    {
        try
        {
            ReleaseIdle();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // On a timer thread an exception would end the process; the next sweep tries again.
            CaLog.IdleSweepFailed(_logger, ex);
        }
    }

    private void OnCredentialChanged(object? sender, WorkloadCredentialChangedEventArgs e)
    {
        // Events for one identity may race (a renewal timer and a root rotation): publish the newest, serialized.
        lock (_lock)
        {
            if (_rotator.Get(e.Credential.Identity) is { } latest && latest.Generation >= e.Credential.Generation)
            {
                Publish(latest);
            }
        }
    }
}
