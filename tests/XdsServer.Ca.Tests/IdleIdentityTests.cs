using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Envoy.Config.Core.V3;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Ca.Internal;
using XdsServer.Cache;
using XdsServer.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>
/// Identities that no stream uses are released: a workload that went away does not keep a certificate renewed
/// (and a key in memory) forever, while one with an open stream keeps its credential however long it stays.
/// </summary>
public sealed class IdleIdentityTests : IDisposable
{
    private const int ReleasedEvent = 3014;
    private static readonly SpiffeId A = SpiffeId.ForIstio("cluster.local", "a", "alpha");
    private static readonly SpiffeId B = SpiffeId.ForIstio("cluster.local", "b", "beta");
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMinutes(1); // Idle / 4, at most a minute

    private readonly FakeTimeProvider _clock = TestCa.Clock();
    private readonly RotatingCertificateAuthority _authority;
    private readonly WorkloadCertificateRotator _rotator;
    private readonly SnapshotCache _cache;
    private readonly WorkloadSecretPublisher _publisher;
    private readonly CapturingLogger<WorkloadSecretPublisher> _log = new();
    // The gauge xds.ca.identities.held of a meter factory of these tests' own, as a host's would be.
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly CaMetrics _metrics;

    public IdleIdentityTests()
    {
        _authority = new RotatingCertificateAuthority(CertificateAuthority.CreateSelfSigned(timeProvider: _clock), timeProvider: _clock);
        _metrics = new CaMetrics(_meters.GetRequiredService<IMeterFactory>());
        _rotator = new WorkloadCertificateRotator(_authority, new WorkloadCertificateRotatorOptions { Lifetime = TimeSpan.FromHours(2) }, _clock,
            new Random(3), logger: null, _metrics);
        _cache = new SnapshotCache(new SnapshotCacheOptions { NodeHash = new WorkloadIdentityNodeHash("cluster.local") }, _clock);
        _publisher = new WorkloadSecretPublisher(_rotator, _cache, options: new WorkloadSecretPublisherOptions { IdleTimeout = Idle }, timeProvider: _clock, logger: _log);
    }

    public void Dispose()
    {
        _publisher.Dispose();
        _rotator.Dispose();
        _cache.Dispose();
        _authority.Dispose();
        _meters.Dispose();
    }

    private bool Published(SpiffeId identity) =>
        _cache.TryGetSnapshot(identity.ToString(), out var snapshot) && snapshot.GetResources(TypeUrls.Secret) is { } secrets
        && secrets.TryGet(WorkloadSecretPublisher.DefaultSecretName, out _);

    [Fact]
    public void An_identity_no_stream_uses_is_released_after_the_idle_timeout_while_one_with_an_open_stream_is_kept_until_it_closes()
    {
        using var gauge = new HeldIdentitiesReader(_meters);
        const int baseline = 0;

        var firstA = _publisher.Ensure(A);
        _publisher.Ensure(B);
        var stream = _cache.TrackStream(new Node { Id = B.ToString() });
        Assert.Equal(1, _cache.GetStatus(B.ToString())?.OpenStreams); // the node maps to B's group
        Assert.Equal(baseline + 2, gauge.Read());

        // Not before the idle timeout...
        _clock.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.NotNull(_rotator.Get(A));
        Assert.True(Published(A));

        // ...but within a sweep period after it: A is released everywhere; B, streamed, is kept.
        _clock.Advance(SweepPeriod + TimeSpan.FromSeconds(1));
        Assert.Null(_rotator.Get(A));
        Assert.DoesNotContain(A, _rotator.Identities);
        Assert.False(_cache.TryGetSnapshot(A.ToString(), out _), "A's group still has a snapshot");
        Assert.Equal(baseline + 1, gauge.Read());
        var released = Assert.Single(_log.WithId(ReleasedEvent));
        Assert.Equal(LogLevel.Information, released.Level);
        Assert.Contains(A.ToString(), released.Message, StringComparison.Ordinal);
        Assert.NotNull(_rotator.Get(B));
        Assert.True(Published(B));

        // A stream open for hours keeps its identity held and renewed.
        _clock.Advance(TimeSpan.FromHours(5));
        var kept = _rotator.Get(B);
        Assert.NotNull(kept);
        Assert.True(kept.Generation > 1, "B was not renewed while held");
        Assert.True(Published(B));

        // Once the stream closes, B is released after the idle time, counted from the last sweep that saw it.
        stream.Dispose();
        _clock.Advance(Idle - SweepPeriod - TimeSpan.FromSeconds(1));
        Assert.NotNull(_rotator.Get(B));
        _clock.Advance(2 * SweepPeriod);
        Assert.Null(_rotator.Get(B));
        Assert.False(_cache.TryGetSnapshot(B.ToString(), out _), "B's group still has a snapshot");
        Assert.Equal(baseline, gauge.Read());
        Assert.Equal(2, _log.WithId(ReleasedEvent).Count);

        // A released identity that comes back gets a fresh certificate, published again.
        var again = _publisher.Ensure(A);
        Assert.Equal(1, again.Generation);
        Assert.NotEqual(firstA.Certificate.SerialNumber, again.Certificate.SerialNumber);
        Assert.True(Published(A));
        Assert.Equal(baseline + 1, gauge.Read());
    }

    [Fact]
    public void Identities_added_to_the_rotator_directly_are_not_released_and_a_disposed_rotator_leaves_the_gauge()
    {
        using var gauge = new HeldIdentitiesReader(_meters);
        const int baseline = 0;
        _rotator.Add(A);
        _clock.Advance(Idle * 3);
        Assert.NotNull(_rotator.Get(A));
        Assert.Empty(_log.WithId(ReleasedEvent));

        var other = new WorkloadCertificateRotator(_authority, options: null, _clock, random: null, logger: null, _metrics);
        other.Add(B);
        Assert.Equal(baseline + 2, gauge.Read());
        other.Dispose();
        Assert.Equal(baseline + 1, gauge.Read());
    }

    [Fact]
    public void With_no_idle_timeout_nothing_is_ever_released()
    {
        using var publisher = new WorkloadSecretPublisher(_rotator, _cache, options: new WorkloadSecretPublisherOptions { IdleTimeout = null }, timeProvider: _clock);
        publisher.Ensure(A);
        _clock.Advance(TimeSpan.FromDays(2));
        Assert.Empty(publisher.ReleaseIdle());
        Assert.NotNull(_rotator.Get(A));
    }

    /// <summary>Reads the gauge through a <see cref="MeterListener"/> of the test's meter factory, as an exporter would.</summary>
    private sealed class HeldIdentitiesReader(IServiceProvider services) : IDisposable
    {
        private readonly HostMetrics _metrics = new(services, "XdsServer.Ca");

        public int Read() => (int)_metrics.Observe("xds.ca.identities.held");

        public void Dispose() => _metrics.Dispose();
    }
}
