using Microsoft.Extensions.Time.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>Issue 4 §3 with a fake clock: renewal at half the lifetime (± jitter), before expiry; root rotation with overlap.</summary>
public sealed class WorkloadCertificateRotatorTests : IDisposable
{
    private static readonly SpiffeId A = SpiffeId.ForIstio("cluster.local", "a", "alpha");
    private static readonly SpiffeId B = SpiffeId.ForIstio("cluster.local", "b", "beta");
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly FakeTimeProvider _clock = TestCa.Clock();
    private readonly RotatingCertificateAuthority _authority;
    private readonly List<WorkloadCredentialChangedEventArgs> _changes = [];

    public WorkloadCertificateRotatorTests()
    {
        _authority = new RotatingCertificateAuthority(CertificateAuthority.CreateSelfSigned(timeProvider: _clock), timeProvider: _clock);
    }

    public void Dispose() => _authority.Dispose();

    private WorkloadCertificateRotator Rotator(int seed = 1, double jitter = 0.1)
    {
        var rotator = new WorkloadCertificateRotator(_authority,
            new WorkloadCertificateRotatorOptions { Lifetime = Lifetime, JitterFraction = jitter }, _clock, new Random(seed));
        rotator.CredentialChanged += (_, e) => _changes.Add(e);
        return rotator;
    }

    [Fact]
    public void The_first_certificate_is_issued_on_add_and_renewal_is_scheduled_within_jitter_of_half_the_lifetime()
    {
        using var rotator = Rotator();
        var first = rotator.Add(A);

        Assert.Equal(A, first.Identity);
        Assert.Equal(1, first.Generation);
        Assert.Equal(TestCa.Start + Lifetime, first.Certificate.NotAfter);
        Assert.InRange(first.RenewAt - TestCa.Start, Lifetime * 0.4, Lifetime * 0.6);
        Assert.Contains("PRIVATE KEY", first.PrivateKeyPem, StringComparison.Ordinal);
        Assert.True(first.TrustBundle.Verifies(first.Certificate.CertificateChainPem, _clock.GetUtcNow()));
        Assert.Equal(WorkloadCredentialChangeReason.Issued, Assert.Single(_changes).Reason);
        Assert.Same(first, rotator.Add(A));
    }

    [Fact]
    public void A_certificate_is_renewed_at_its_renewal_time_and_always_before_it_expires()
    {
        using var rotator = Rotator(seed: 7);
        var current = rotator.Add(A);
        _changes.Clear();

        for (var cycle = 0; cycle < 5; cycle++)
        {
            _clock.Advance(current.RenewAt - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
            Assert.Empty(_changes);
            _clock.Advance(TimeSpan.FromSeconds(1));

            var change = Assert.Single(_changes);
            _changes.Clear();
            Assert.Equal(WorkloadCredentialChangeReason.Renewed, change.Reason);
            var renewed = change.Credential;
            var now = _clock.GetUtcNow();
            Assert.True(now < current.Certificate.NotAfter, "renewed before expiry");
            var elapsed = now - (current.Certificate.NotAfter - Lifetime);
            Assert.InRange(elapsed, Lifetime * 0.4, Lifetime * 0.6);
            Assert.NotEqual(current.Certificate.SerialNumber, renewed.Certificate.SerialNumber);
            Assert.NotEqual(current.PrivateKeyPem, renewed.PrivateKeyPem);
            Assert.InRange(renewed.Certificate.NotAfter, now + Lifetime - TimeSpan.FromSeconds(1), now + Lifetime); // whole seconds
            Assert.Equal(current.Generation + 1, renewed.Generation);
            Assert.Same(renewed, rotator.Get(A));
            current = renewed;
        }
    }

    [Fact]
    public void Jitter_spreads_renewals_and_a_seed_makes_the_schedule_reproducible()
    {
        var identities = Enumerable.Range(0, 8).Select(i => SpiffeId.ForIstio("cluster.local", "ns", "sa" + i)).ToList();
        List<TimeSpan> Schedule(int seed)
        {
            using var rotator = Rotator(seed);
            return [.. identities.Select(id => rotator.Add(id).RenewAt - TestCa.Start)];
        }

        var first = Schedule(3);
        Assert.Equal(first, Schedule(3));
        Assert.NotEqual(first, Schedule(4));
        Assert.All(first, d => Assert.InRange(d, Lifetime * 0.4, Lifetime * 0.6));
        Assert.True(first.Distinct().Count() > 1, "jitter spreads renewals");
    }

    [Fact]
    public void Without_jitter_renewal_is_at_exactly_half_the_lifetime()
    {
        using var rotator = Rotator(jitter: 0);
        Assert.Equal(TestCa.Start + Lifetime / 2, rotator.Add(A).RenewAt);
    }

    [Fact]
    public void A_removed_identity_is_no_longer_renewed()
    {
        using var rotator = Rotator();
        var first = rotator.Add(A);
        Assert.True(rotator.Remove(A));
        _changes.Clear();
        _clock.Advance(first.Certificate.NotAfter - _clock.GetUtcNow());
        Assert.Empty(_changes);
        Assert.Null(rotator.Get(A));
        Assert.False(rotator.Remove(A));
    }

    [Fact]
    public void A_root_rotation_overlaps_both_roots_then_drops_the_old_one()
    {
        using var rotator = Rotator();
        var oldA = rotator.Add(A);
        var oldB = rotator.Add(B);
        var oldRoot = _authority.Current.RootCertificate;
        Assert.Single(_authority.TrustBundle.Roots);
        _changes.Clear();

        var overlap = TimeSpan.FromHours(30); // longer than a workload certificate lives
        var next = CertificateAuthority.CreateSelfSigned(timeProvider: _clock);
        _authority.Rotate(next, overlap);

        // During the overlap: both roots, the new one first; every workload reissued under the new root.
        var bundle = _authority.TrustBundle;
        Assert.Equal(2, bundle.Roots.Count);
        Assert.True(bundle.Contains(next.RootCertificate));
        Assert.True(bundle.Contains(oldRoot));
        Assert.Equal(next.RootCertificatePem, bundle.RootPems[0]);
        Assert.Equal([A, B], _changes.Select(c => c.Credential.Identity).Order(Comparer<SpiffeId>.Create((x, y) => string.CompareOrdinal(x.ToString(), y.ToString()))));
        Assert.All(_changes, c => Assert.Equal(WorkloadCredentialChangeReason.RootRotated, c.Reason));
        var newA = rotator.Get(A)!;
        var newB = rotator.Get(B)!;
        Assert.Equal(next.RootCertificatePem, newA.Certificate.RootCertificatePem);
        Assert.Same(bundle, newA.TrustBundle);

        // A leaf under either root verifies against the bundle: old and new workloads still talk.
        var now = _clock.GetUtcNow();
        Assert.True(bundle.Verifies(oldA.Certificate.CertificateChainPem, now));
        Assert.True(bundle.Verifies(oldB.Certificate.CertificateChainPem, now));
        Assert.True(bundle.Verifies(newA.Certificate.CertificateChainPem, now));
        Assert.True(bundle.Verifies(newB.Certificate.CertificateChainPem, now));
        Assert.False(new TrustBundle([next.RootCertificate]).Verifies(oldA.Certificate.CertificateChainPem, now));

        // Renewals inside the overlap stay under the new root.
        _changes.Clear();
        _clock.Advance(TimeSpan.FromHours(20));
        Assert.Contains(_changes, c => c.Reason == WorkloadCredentialChangeReason.Renewed);
        Assert.All(_changes, c => Assert.Equal(next.RootCertificatePem, c.Credential.Certificate.RootCertificatePem));
        Assert.Equal(2, _authority.TrustBundle.Roots.Count);

        // After the overlap: the old root is gone, and every credential carries the one-root bundle.
        _changes.Clear();
        _clock.Advance(overlap - TimeSpan.FromHours(20));
        var after = _authority.TrustBundle;
        Assert.Equal(next.RootCertificatePem, Assert.Single(after.RootPems));
        Assert.False(after.Contains(oldRoot));
        Assert.Contains(_changes, c => c.Reason == WorkloadCredentialChangeReason.TrustBundleChanged);
        foreach (var id in new[] { A, B })
        {
            var credential = rotator.Get(id)!;
            Assert.Same(after, credential.TrustBundle);
            Assert.True(after.Verifies(credential.Certificate.CertificateChainPem, _clock.GetUtcNow()));
        }
        Assert.False(after.Verifies(oldA.Certificate.CertificateChainPem, TestCa.Start + TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Rotating_to_the_same_root_is_refused()
    {
        Assert.Throws<ArgumentException>(() => _authority.Rotate(_authority.Current, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Trust_bundle_pem_holds_every_root()
    {
        using var other = CertificateAuthority.CreateSelfSigned(timeProvider: _clock);
        var bundle = new TrustBundle([_authority.Current.RootCertificate, other.RootCertificate, other.RootCertificate]);
        Assert.Equal(2, bundle.Roots.Count);
        var collection = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        collection.ImportFromPem(bundle.Pem);
        Assert.Equal(2, collection.Count);
    }
}
