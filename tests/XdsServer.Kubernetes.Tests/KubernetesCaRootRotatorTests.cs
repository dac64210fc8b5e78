using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Ca;
using XdsServer.Kubernetes.Tests.Stubs;

namespace XdsServer.Kubernetes.Tests;

public sealed class KubernetesCaRootRotatorTests : IAsyncLifetime, IDisposable
{
    private const string Ns = "istio-system";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RootLifetime = TimeSpan.FromDays(100); // due for renewal after 80 days (20 % left)
    private static readonly SpiffeId Workload = SpiffeId.ForIstio("cluster.local", "shop", "web");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly LogCapture _logs = new();
    private readonly List<Replica> _replicas = [];
    private CaKubernetesApiStub _stub = null!;

    public async Task InitializeAsync() => _stub = await CaKubernetesApiStub.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Dispose();
        }
        await _stub.DisposeAsync();
    }

    public void Dispose() => _logs.Dispose();

    [Fact]
    public async Task A_replica_renews_a_near_expiry_root_with_the_same_key_and_a_second_replica_picks_it_up()
    {
        var a = await StartAsync("replica-a");
        var b = await StartAsync("replica-b");
        var oldRoot = a.Authority.Current.RootCertificate;
        using var workloadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal(KubernetesCaRootCheckResult.Unchanged, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));

        _clock.Advance(TimeSpan.FromDays(81) - TimeSpan.FromHours(1)); // 19 % of the root's lifetime left
        var underOldLate = b.Authority.Issuer.Issue(Csr(workloadKey), Workload);
        _clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(KubernetesCaRootCheckResult.Renewed, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));
        var newRoot = a.Authority.Current.RootCertificate;
        Assert.NotEqual(oldRoot.Thumbprint, newRoot.Thumbprint);
        Assert.Equal(oldRoot.SubjectName.RawData, newRoot.SubjectName.RawData);
        Assert.Equal(oldRoot.PublicKey.EncodedKeyValue.RawData, newRoot.PublicKey.EncodedKeyValue.RawData);
        Assert.Equal(_clock.GetUtcNow() + RootLifetime, new DateTimeOffset(newRoot.NotAfter.ToUniversalTime()));
        var stored = Encoding.UTF8.GetString(_stub.GetSecret(Ns, "istio-ca-secret")!.Data["ca-cert.pem"]);
        Assert.Equal(a.Authority.Current.RootCertificatePem.Trim(), stored.Trim());
        Assert.Equal(KubernetesCaRootStore.SecretType, _stub.GetSecret(Ns, "istio-ca-secret")!.Type); // replaced, not recreated
        Assert.Equal(1, _stub.SecretReplaces);
        Assert.Null(_stub.GetLease(Ns, "xds-ca-root")!.Spec.HolderIdentity); // released after renewing
        Assert.Equal([newRoot.Thumbprint, oldRoot.Thumbprint], a.Authority.TrustBundle.Roots.Select(r => r.Thumbprint));
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 2330 && e.Level == LogLevel.Information);

        // b still signs under the old root until its check, which loads a's root rather than renewing again.
        Assert.Equal(oldRoot.Thumbprint, b.Authority.Current.RootCertificate.Thumbprint);
        Assert.Equal(KubernetesCaRootCheckResult.Reloaded, await b.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(newRoot.Thumbprint, b.Authority.Current.RootCertificate.Thumbprint);
        Assert.Equal(1, _stub.SecretReplaces);
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 2326);

        // Same key and subject: a certificate issued under the old root verifies against the new root certificate
        // alone, and one issued under the new root against the old root alone.
        AssertVerifies(underOldLate, newRoot);
        var underNew = b.Authority.Issuer.Issue(Csr(workloadKey), Workload);
        AssertVerifies(underNew, oldRoot);
        Assert.Equal(KubernetesCaRootCheckResult.Unchanged, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(KubernetesCaRootCheckResult.Unchanged, await b.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));
    }

    [Fact]
    public async Task Two_replicas_racing_to_renew_store_one_root_and_the_loser_loads_it()
    {
        var a = await StartAsync("replica-a");
        var b = await StartAsync("replica-b");
        _clock.Advance(TimeSpan.FromDays(81));
        _stub.HoldNextSecretReplace();

        // a takes the Lease and sends its replace, which stalls past the Lease's end; b takes the expired Lease and
        // stores its renewed root first. a's replace then carries a stale resourceVersion (409), and a loads b's root.
        var aCheck = a.Rotator.CheckAsync(CancellationToken.None);
        await _stub.SecretReplaceArrived.Task.WaitAsync(Bound);
        _clock.Advance(TimeSpan.FromSeconds(16));
        Assert.Equal(KubernetesCaRootCheckResult.Renewed, await b.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));
        _stub.ReleaseHeldSecretReplace();
        Assert.Equal(KubernetesCaRootCheckResult.Reloaded, await aCheck.WaitAsync(Bound));

        Assert.Equal(1, _stub.SecretReplaces);
        Assert.Equal(1, _stub.SecretReplaceConflicts);
        Assert.Equal(b.Authority.Current.RootCertificatePem, a.Authority.Current.RootCertificatePem);
        var stored = Encoding.UTF8.GetString(_stub.GetSecret(Ns, "istio-ca-secret")!.Data["ca-cert.pem"]);
        Assert.Equal(b.Authority.Current.RootCertificatePem.Trim(), stored.Trim());
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 2331);
    }

    [Fact]
    public async Task Replicas_checking_at_once_renew_the_root_once()
    {
        var replicas = new[] { await StartAsync("replica-a"), await StartAsync("replica-b"), await StartAsync("replica-c") };
        _clock.Advance(TimeSpan.FromDays(81));

        var results = await Task.WhenAll(replicas.Select(r => r.Rotator.CheckAsync(CancellationToken.None))).WaitAsync(Bound);
        // The ones that found the Lease held left it to the holder; their next check loads its root.
        foreach (var replica in replicas)
        {
            await replica.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound);
        }

        Assert.Equal(1, results.Count(r => r == KubernetesCaRootCheckResult.Renewed));
        Assert.All(results, r => Assert.Contains(r, (KubernetesCaRootCheckResult[])[KubernetesCaRootCheckResult.Renewed,
            KubernetesCaRootCheckResult.RenewalDeferred, KubernetesCaRootCheckResult.Reloaded]));
        Assert.Equal(1, _stub.SecretReplaces);
        Assert.Single(replicas.Select(r => r.Authority.Current.RootCertificate.Thumbprint).Distinct());
    }

    [Fact]
    public async Task A_plugged_cacerts_near_its_end_is_warned_about_and_not_rotated()
    {
        _stub.PutSecret(Ns, "cacerts", TestPki.PluggedIntermediate(_clock, out _, out var intermediatePem));
        var a = await StartAsync("replica-a");
        using var intermediate = X509Certificate2.CreateFromPem(intermediatePem);
        Assert.Equal(KubernetesCaRootCheckResult.Unchanged, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));

        _clock.Advance(TimeSpan.FromDays(300)); // the intermediate (365 days) has 18 % left; the root (10 years) 92 %
        var result = await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(KubernetesCaRootCheckResult.PluggedCaExpiring, result);
        var warning = Assert.Single(_logs.Entries, e => e.EventId.Id == 2333);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(intermediate.SerialNumber, warning.Message, StringComparison.Ordinal);
        Assert.Contains("never rotated here", warning.Message, StringComparison.Ordinal);
        Assert.Equal(intermediate.Thumbprint, a.Authority.Current.SigningCertificate.Thumbprint);
        Assert.Equal(0, _stub.SecretReplaces);
        Assert.Equal(0, _stub.SecretCreates);
        Assert.Null(_stub.GetLease(Ns, "xds-ca-root")); // no renewal, so no Lease taken
        Assert.DoesNotContain(_logs.Entries, e => e.Message.Contains("PRIVATE KEY", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_operator_replacing_cacerts_is_rotated_in_and_the_old_root_stays_trusted_for_the_overlap()
    {
        _stub.PutSecret(Ns, "cacerts", TestPki.PluggedIntermediate(_clock, out var oldRootPem, out _));
        var a = await StartAsync("replica-a");
        using var workloadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var underOld = a.Authority.Issuer.Issue(Csr(workloadKey), Workload);
        _clock.Advance(TimeSpan.FromDays(1));

        _stub.PutSecret(Ns, "cacerts", TestPki.PluggedIntermediate(_clock, out var newRootPem, out var newIntermediatePem));
        Assert.Equal(KubernetesCaRootCheckResult.Reloaded, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Equal(newRootPem.Trim(), a.Authority.Current.RootCertificatePem.Trim());
        Assert.Equal(newIntermediatePem.Trim(), a.Authority.Current.CertificateChainPem[0].Trim());
        Assert.Equal([newRootPem.Trim(), oldRootPem.Trim()], a.Authority.TrustBundle.Roots.Select(r => r.ExportCertificatePem().Trim()));
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 2326 && e.Level == LogLevel.Information);
        Assert.Equal(0, _stub.SecretReplaces); // the operator's Secret is not written to

        // The old root stays trusted for the longest workload lifetime (48 h) plus one check interval (1 h).
        _clock.Advance(TimeSpan.FromHours(49) - TimeSpan.FromSeconds(1));
        Assert.Equal(2, a.Authority.TrustBundle.Roots.Count);
        Assert.True(underOld.NotAfter < _clock.GetUtcNow()); // every certificate under the old root has ended
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(newRootPem.Trim(), Assert.Single(a.Authority.TrustBundle.Roots).ExportCertificatePem().Trim());
    }

    [Fact]
    public async Task A_new_intermediate_under_the_same_root_replaces_the_signer_and_keeps_the_bundle()
    {
        using var root = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = "plugged.example" }, _clock);
        _stub.PutSecret(Ns, "cacerts", TestPki.Intermediate(root, _clock, out _, out _));
        var a = await StartAsync("replica-a");
        var bundle = a.Authority.TrustBundle;

        _stub.PutSecret(Ns, "cacerts", TestPki.Intermediate(root, _clock, out _, out var nextPem));
        Assert.Equal(KubernetesCaRootCheckResult.Reloaded, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Equal(nextPem.Trim(), a.Authority.Current.CertificateChainPem[0].Trim());
        Assert.Same(bundle, a.Authority.TrustBundle);
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 2327);
    }

    [Fact]
    public async Task A_Secret_rewritten_with_the_same_CA_changes_nothing()
    {
        var files = TestPki.PluggedIntermediate(_clock, out _, out _);
        _stub.PutSecret(Ns, "cacerts", files);
        var a = await StartAsync("replica-a");
        var current = a.Authority.Current;

        _stub.PutSecret(Ns, "cacerts", files); // a new resourceVersion, as a label edit gives
        Assert.Equal(KubernetesCaRootCheckResult.Unchanged, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Same(current, a.Authority.Current);
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 2328);
    }

    [Fact]
    public async Task An_API_error_is_logged_and_the_next_check_of_the_background_loop_retries()
    {
        var a = await StartAsync("replica-a");
        var results = new System.Collections.Concurrent.ConcurrentQueue<KubernetesCaRootCheckResult>();
        a.Rotator.Checked += results.Enqueue;
        _stub.FailNextRequests(1, 500); // the first request of the first check
        await a.Rotator.StartAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromDays(81)); // the root is due; the loop checks once an interval (1 h) has passed

        await AdvanceUntilAsync(() => !results.IsEmpty, TimeSpan.FromHours(1), "the first check");
        Assert.Equal(KubernetesCaRootCheckResult.Failed, results.First());
        var failure = Assert.Single(_logs.Entries, e => e.EventId.Id == 2334);
        Assert.Equal(LogLevel.Warning, failure.Level);
        Assert.NotNull(failure.Exception);
        Assert.Equal(0, _stub.SecretReplaces);

        await AdvanceUntilAsync(() => results.Count >= 2, TimeSpan.FromHours(1), "the retry");
        Assert.Equal(KubernetesCaRootCheckResult.Renewed, results.ElementAt(1));
        Assert.Equal(1, _stub.SecretReplaces);
        await a.Rotator.StopAsync(CancellationToken.None).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_refused_Secret_replace_is_logged_the_Lease_released_and_the_old_root_kept()
    {
        var a = await StartAsync("replica-a");
        var root = a.Authority.Current;
        _clock.Advance(TimeSpan.FromDays(81));
        _stub.RefuseSecretReplacesWith = 403;

        Assert.Equal(KubernetesCaRootCheckResult.Failed, await a.Rotator.CheckAsync(CancellationToken.None).WaitAsync(Bound));
        Assert.Same(root, a.Authority.Current);
        Assert.Null(_stub.GetLease(Ns, "xds-ca-root")!.Spec.HolderIdentity);
        var failure = Assert.Single(_logs.Entries, e => e.EventId.Id == 2334);
        Assert.Contains("403", failure.Exception!.Message, StringComparison.Ordinal);
    }

    private async Task<Replica> StartAsync(string id)
    {
        var store = new KubernetesCaRootStore(new KubernetesCaRootOptions
        {
            KubeConfigPath = _stub.KubeConfigPath,
            ReplicaId = id,
            Authority = new CertificateAuthorityOptions { RootLifetime = RootLifetime },
        }, _clock, _logs.CreateLogger<KubernetesCaRootStore>());
        var initial = await store.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);
        var authority = new RotatingCertificateAuthority(initial, null, _clock);
        var rotator = new KubernetesCaRootRotator(store, authority, null, _clock, _logs.CreateLogger<KubernetesCaRootRotator>());
        var replica = new Replica(store, authority, rotator);
        _replicas.Add(replica);
        return replica;
    }

    /// <summary>Moves the fake clock on by <paramref name="step"/> until <paramref name="done"/>: each step releases
    /// the loop's next check. Bounded in steps and in real time.</summary>
    private async Task AdvanceUntilAsync(Func<bool> done, TimeSpan step, string what)
    {
        var limit = System.Diagnostics.Stopwatch.StartNew();
        for (var steps = 0; !done(); steps++)
        {
            if (steps > 200 || limit.Elapsed > Bound)
            {
                throw new TimeoutException($"{what} did not happen after {steps} clock steps of {step} ({limit.Elapsed.TotalSeconds:0.#} s)\n{_logs.Describe()}");
            }
            _clock.Advance(step);
            await Task.Delay(20);
        }
    }

    private static string Csr(ECDsa key) =>
        new CertificateRequest("CN=workload", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();

    private void AssertVerifies(WorkloadCertificate certificate, X509Certificate2 root)
    {
        using var leaf = X509Certificate2.CreateFromPem(certificate.CertificatePem);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = _clock.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation}")));
    }

    private sealed record Replica(KubernetesCaRootStore Store, RotatingCertificateAuthority Authority, KubernetesCaRootRotator Rotator) : IDisposable
    {
        public void Dispose()
        {
            Rotator.Dispose();
            Authority.Dispose();
            Store.Dispose();
        }
    }
}
