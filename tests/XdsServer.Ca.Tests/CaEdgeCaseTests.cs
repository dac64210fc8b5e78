using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>
/// The CA survives its own edge cases: an expiring chain, failing renewals and reissues (never an exception on a
/// timer thread, which would end the process), one bad identity during a root rotation, subscriber bugs.
/// </summary>
public sealed class CaEdgeCaseTests
{
    private const int IssueFailedEvent = 3010;
    private const int RecoveredEvent = 3011;
    private const int HandlerFailedEvent = 3012;
    private const int RootRotationReissuedEvent = 3013;

    private static readonly SpiffeId A = SpiffeId.ForIstio("cluster.local", "a", "alpha");
    private static readonly SpiffeId B = SpiffeId.ForIstio("cluster.local", "b", "beta");
    private static readonly SpiffeId C = SpiffeId.ForIstio("cluster.local", "c", "gamma");
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly FakeTimeProvider _clock = TestCa.Clock();
    private readonly CapturingLogger<WorkloadCertificateRotator> _log = new();
    private readonly List<WorkloadCredentialChangedEventArgs> _changes = [];

    private WorkloadCertificateRotator Rotator(RotatingCertificateAuthority authority, TimeSpan? retryInitial = null, TimeSpan? retryMax = null)
    {
        var rotator = new WorkloadCertificateRotator(authority, new WorkloadCertificateRotatorOptions
        {
            Lifetime = Lifetime,
            RetryInitialDelay = retryInitial ?? TimeSpan.FromSeconds(5),
            RetryMaxDelay = retryMax ?? TimeSpan.FromMinutes(5),
        }, _clock, new Random(11), _log);
        rotator.CredentialChanged += (_, e) =>
        {
            lock (_changes)
            {
                _changes.Add(e);
            }
        };
        return rotator;
    }

    private RotatingCertificateAuthority Authority(TimeSpan? rootLifetime = null) => new(
        CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { RootLifetime = rootLifetime ?? TimeSpan.FromDays(3650) }, _clock),
        timeProvider: _clock);

    [Fact]
    public void An_expiring_chain_clamps_renewals_then_fails_them_on_the_timer_without_throwing_retries_with_backoff_and_recovers_on_a_root_rotation()
    {
        var rootLifetime = TimeSpan.FromDays(3);
        var chainEnd = TestCa.Start + rootLifetime;
        var retryInitial = TimeSpan.FromMinutes(1);
        var retryMax = TimeSpan.FromMinutes(10);
        var warning = TimeSpan.FromHours(12);
        using var authority = Authority(rootLifetime);
        using var rotator = Rotator(authority, retryInitial, retryMax);
        var check = new CertificateAuthorityHealthCheck(authority, rotator, new CertificateAuthorityHealthCheckOptions { ChainExpiryWarning = warning }, _clock);

        var first = rotator.Add(A);
        Assert.Equal(HealthStatus.Healthy, check.Check().Status);

        // Up to the chain's end, hour by hour: renewals on time, none outliving the chain; Degraded once it is near.
        while (_clock.GetUtcNow() < chainEnd - TimeSpan.FromHours(1))
        {
            _clock.Advance(TimeSpan.FromHours(1));
            var result = check.Check();
            if (chainEnd - _clock.GetUtcNow() > warning)
            {
                Assert.Equal(HealthStatus.Healthy, result.Status);
            }
            else
            {
                Assert.Equal(HealthStatus.Degraded, result.Status);
                Assert.Contains("ends at " + chainEnd.ToString("O", CultureInfo.InvariantCulture), result.Description, StringComparison.Ordinal);
            }
        }
        var renewals = _changes.Where(c => c.Reason == WorkloadCredentialChangeReason.Renewed).Select(c => c.Credential).ToList();
        Assert.All(renewals, c => Assert.True(c.Certificate.NotAfter <= chainEnd, $"{c} outlives the chain ending {chainEnd:O}"));
        var clamped = Assert.Single(renewals, c => c.Certificate.NotAfter == chainEnd);
        Assert.Equal(chainEnd, clamped.RenewAt); // a chain-clamped certificate is not renewed again and again before the end
        Assert.InRange(renewals.Count, 4, 7);    // every 9.6–14.4 h over 3 days: no renewal storm at the end
        Assert.Empty(_log.WithId(IssueFailedEvent));
        var served = rotator.Get(A)!;
        Assert.Same(clamped, served);

        // The chain ends: the renewal fails on the timer. Advance would rethrow a timer callback's exception.
        var thrown = Record.Exception(() => _clock.Advance(chainEnd - _clock.GetUtcNow()));
        Assert.Null(thrown);
        var failure = Assert.Single(_log.WithId(IssueFailedEvent));
        Assert.Equal(LogLevel.Error, failure.Level);
        Assert.Contains(A.ToString(), failure.Message, StringComparison.Ordinal);
        Assert.Contains("expired", failure.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(failure.Exception);
        Assert.Same(served, rotator.Get(A)); // the previous credential is still the one served

        var unhealthy = check.Check();
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.Contains("expired at " + chainEnd.ToString("O", CultureInfo.InvariantCulture), unhealthy.Description, StringComparison.Ordinal);
        Assert.Contains(A.ToString(), unhealthy.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", unhealthy.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(served.PrivateKeyPem.Split('\n')[1], unhealthy.Description, StringComparison.Ordinal);
        Assert.Equal(1, unhealthy.Data["failingIdentities"]);

        // Retries back off: attempt n+1 comes between half and all of min(max, initial × 2^(n−1)) after attempt n.
        for (var attempt = 1; attempt <= 6; attempt++)
        {
            var health = rotator.Health;
            Assert.Equal(1, health.FailingIdentities);
            Assert.Equal(attempt, health.ConsecutiveFailures);
            Assert.Equal(A, health.LastFailureIdentity);
            Assert.Contains("expired", health.LastFailureMessage, StringComparison.Ordinal);
            var wait = health.NextRetryAt!.Value - _clock.GetUtcNow();
            var ceiling = TimeSpan.FromTicks(Math.Min(retryMax.Ticks, retryInitial.Ticks << (attempt - 1)));
            Assert.InRange(wait, ceiling / 2, ceiling);

            _clock.Advance(wait - TimeSpan.FromSeconds(1));
            Assert.Equal(attempt, _log.WithId(IssueFailedEvent).Count);
            _clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(attempt + 1, _log.WithId(IssueFailedEvent).Count);
        }
        Assert.Same(served, rotator.Get(A));

        // A new root: the identity is reissued at once, health recovers, and the pending retry is gone.
        _changes.Clear();
        var next = CertificateAuthority.CreateSelfSigned(timeProvider: _clock);
        authority.Rotate(next, TimeSpan.FromHours(1));
        var reissue = Assert.Single(_changes, c => c.Reason == WorkloadCredentialChangeReason.RootRotated);
        Assert.Equal(next.RootCertificatePem, reissue.Credential.Certificate.RootCertificatePem);
        Assert.True(reissue.Credential.Certificate.NotAfter > _clock.GetUtcNow() + Lifetime - TimeSpan.FromSeconds(1));
        Assert.Same(reissue.Credential, rotator.Get(A));
        Assert.True(authority.TrustBundle.Verifies(reissue.Credential.Certificate.CertificateChainPem, _clock.GetUtcNow()));
        Assert.Equal(0, rotator.Health.FailingIdentities);
        Assert.Single(_log.WithId(RecoveredEvent));
        var healthy = check.Check();
        Assert.Equal(HealthStatus.Healthy, healthy.Status);

        var failures = _log.WithId(IssueFailedEvent).Count;
        _clock.Advance(retryMax);
        Assert.Equal(failures, _log.WithId(IssueFailedEvent).Count);
        Assert.True(first.Generation < rotator.Get(A)!.Generation);
    }

    [Fact]
    public void A_first_issue_that_fails_throws_to_the_caller_and_leaves_nothing_held()
    {
        using var authority = Authority(TimeSpan.FromHours(1));
        using var rotator = Rotator(authority);
        _clock.Advance(TimeSpan.FromHours(2));

        Assert.Throws<InvalidOperationException>(() => rotator.Add(A));
        Assert.Equal(0, rotator.Count);
        Assert.Empty(rotator.Identities);
        Assert.Null(rotator.Get(A));
        Assert.Equal(0, rotator.Health.FailingIdentities);
        Assert.Empty(_changes);

        // No timer was left behind, and the identity can be added once the CA can sign again.
        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Empty(_changes);
        Assert.Empty(_log.Entries);
        authority.Rotate(CertificateAuthority.CreateSelfSigned(timeProvider: _clock), TimeSpan.Zero);
        var credential = rotator.Add(A);
        Assert.Equal(1, credential.Generation);
        Assert.Equal(authority.Current.RootCertificatePem, credential.Certificate.RootCertificatePem);
    }

    [Fact]
    public void One_identity_failing_to_reissue_under_a_new_root_neither_stops_the_others_nor_throws_from_Rotate_and_is_retried()
    {
        using var authority = Authority();
        using var rotator = Rotator(authority, retryInitial: TimeSpan.FromSeconds(10));
        var before = new[] { A, B, C }.ToDictionary(id => id, rotator.Add);
        _changes.Clear();
        rotator.BeforeIssue = id =>
        {
            if (id.Equals(B))
            {
                throw new CryptographicException("signing key unavailable (injected)");
            }
        };

        var next = CertificateAuthority.CreateSelfSigned(timeProvider: _clock);
        var thrown = Record.Exception(() => authority.Rotate(next, TimeSpan.FromHours(30)));

        Assert.Null(thrown);
        Assert.Equal([A, C], _changes.Where(c => c.Reason == WorkloadCredentialChangeReason.RootRotated).Select(c => c.Credential.Identity));
        Assert.Equal(next.RootCertificatePem, rotator.Get(A)!.Certificate.RootCertificatePem);
        Assert.Equal(next.RootCertificatePem, rotator.Get(C)!.Certificate.RootCertificatePem);
        var stale = rotator.Get(B)!;
        Assert.Equal(before[B].Certificate.SerialNumber, stale.Certificate.SerialNumber); // still served its old one
        var failure = Assert.Single(_log.WithId(IssueFailedEvent));
        Assert.Contains(B.ToString(), failure.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(WorkloadCredentialChangeReason.RootRotated), failure.Message, StringComparison.Ordinal);
        Assert.Contains("signing key unavailable", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Reissued 2 of 3", Assert.Single(_log.WithId(RootRotationReissuedEvent)).Message, StringComparison.Ordinal);
        var health = rotator.Health;
        Assert.Equal(1, health.FailingIdentities);
        Assert.Equal(B, health.LastFailureIdentity);

        // The cause goes away: the retry puts B under the new root too.
        rotator.BeforeIssue = null;
        _changes.Clear();
        _clock.Advance(health.NextRetryAt!.Value - _clock.GetUtcNow());
        var retried = Assert.Single(_changes);
        Assert.Equal(B, retried.Credential.Identity);
        Assert.Equal(next.RootCertificatePem, retried.Credential.Certificate.RootCertificatePem);
        Assert.Equal(0, rotator.Health.FailingIdentities);
    }

    [Fact]
    public void A_root_rotation_signs_outside_the_rotator_lock_so_reads_and_adds_of_other_identities_go_on()
    {
        using var authority = Authority();
        using var rotator = Rotator(authority);
        rotator.Add(A);
        rotator.Add(B);
        bool? otherThreadFinished = null;
        WorkloadCredential? addedMeanwhile = null;
        rotator.BeforeIssue = id =>
        {
            if (id.Equals(B) && otherThreadFinished is null)
            {
                // Another thread, so a lock held by this one would block it (Lock is reentrant on one thread).
                var other = Task.Run(() =>
                {
                    _ = rotator.Get(A);
                    _ = rotator.Health;
                    addedMeanwhile = rotator.Add(C);
                });
                otherThreadFinished = other.Wait(TimeSpan.FromSeconds(30));
            }
        };

        var next = CertificateAuthority.CreateSelfSigned(timeProvider: _clock);
        authority.Rotate(next, TimeSpan.FromHours(1));

        Assert.True(otherThreadFinished, "Get/Health/Add on another thread did not finish within 30 s while the rotation was signing: the rotator lock is held across signing");
        Assert.NotNull(addedMeanwhile);
        Assert.Equal(next.RootCertificatePem, addedMeanwhile.Certificate.RootCertificatePem);
        Assert.All(new[] { A, B, C }, id => Assert.Equal(next.RootCertificatePem, rotator.Get(id)!.Certificate.RootCertificatePem));
    }

    [Fact]
    public void An_identity_removed_while_a_root_rotation_reissues_it_is_not_brought_back()
    {
        using var authority = Authority();
        using var rotator = Rotator(authority);
        rotator.Add(A);
        rotator.Add(B);
        _changes.Clear();
        rotator.BeforeIssue = id =>
        {
            if (id.Equals(B))
            {
                rotator.Remove(B);
            }
        };

        authority.Rotate(CertificateAuthority.CreateSelfSigned(timeProvider: _clock), TimeSpan.FromHours(1));

        Assert.Null(rotator.Get(B));
        Assert.Equal([A], rotator.Identities);
        Assert.DoesNotContain(_changes, c => c.Credential.Identity.Equals(B));
        rotator.BeforeIssue = null;
        _clock.Advance(TimeSpan.FromDays(2)); // no timer for B either
        Assert.DoesNotContain(_changes, c => c.Credential.Identity.Equals(B));
        Assert.Equal(1, rotator.Count);
    }

    [Fact]
    public void A_transient_renewal_failure_keeps_the_current_credential_until_a_retry_succeeds_before_expiry()
    {
        using var authority = Authority();
        using var rotator = Rotator(authority, retryInitial: TimeSpan.FromSeconds(5));
        var first = rotator.Add(A);
        var fail = true;
        rotator.BeforeIssue = _ =>
        {
            if (fail)
            {
                throw new CryptographicException("transient (injected)");
            }
        };

        _clock.Advance(first.RenewAt - _clock.GetUtcNow());
        Assert.Same(first, rotator.Get(A));
        Assert.Single(_log.WithId(IssueFailedEvent));
        var retryAt = rotator.Health.NextRetryAt!.Value;
        Assert.InRange(retryAt - _clock.GetUtcNow(), TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(5));

        fail = false;
        _clock.Advance(retryAt - _clock.GetUtcNow());
        var renewed = rotator.Get(A)!;
        Assert.NotEqual(first.Certificate.SerialNumber, renewed.Certificate.SerialNumber);
        Assert.True(_clock.GetUtcNow() < first.Certificate.NotAfter);
        Assert.Equal(WorkloadCredentialChangeReason.Renewed, _changes[^1].Reason);
        Assert.Equal(0, rotator.Health.ConsecutiveFailures);
        Assert.NotNull(rotator.Health.LastFailureAt); // kept as history
    }

    [Fact]
    public void A_CredentialChanged_handler_that_throws_on_a_renewal_timer_is_logged_not_thrown()
    {
        using var authority = Authority();
        using var rotator = Rotator(authority);
        rotator.CredentialChanged += (_, e) =>
        {
            if (e.Reason == WorkloadCredentialChangeReason.Renewed)
            {
                throw new InvalidOperationException("subscriber bug");
            }
        };
        var first = rotator.Add(A);

        var thrown = Record.Exception(() => _clock.Advance(first.RenewAt - _clock.GetUtcNow()));

        Assert.Null(thrown);
        var logged = Assert.Single(_log.WithId(HandlerFailedEvent));
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Equal("subscriber bug", logged.Exception?.Message);
        Assert.Equal(2, rotator.Get(A)!.Generation); // the renewal itself stands
    }

    [Fact]
    public void Retry_and_idle_options_out_of_range_are_refused_by_name()
    {
        Assert.Equal("RetryInitialDelay", Assert.Throws<ArgumentException>(() =>
            new WorkloadCertificateRotatorOptions { RetryInitialDelay = TimeSpan.Zero }.Validate()).ParamName);
        Assert.Equal("RetryMaxDelay", Assert.Throws<ArgumentException>(() =>
            new WorkloadCertificateRotatorOptions { RetryInitialDelay = TimeSpan.FromMinutes(2), RetryMaxDelay = TimeSpan.FromMinutes(1) }.Validate()).ParamName);
        Assert.Equal("IdleTimeout", Assert.Throws<ArgumentException>(() =>
            new WorkloadSecretPublisherOptions { IdleTimeout = TimeSpan.Zero }.Validate()).ParamName);
        Assert.Equal("ChainExpiryWarning", Assert.Throws<ArgumentException>(() =>
            new CertificateAuthorityHealthCheckOptions { ChainExpiryWarning = TimeSpan.FromSeconds(-1) }.Validate()).ParamName);
        new WorkloadSecretPublisherOptions { IdleTimeout = null }.Validate();
    }
}
