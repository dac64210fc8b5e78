using System.Text;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Ca;
using XdsServer.Kubernetes.Tests.Stubs;

namespace XdsServer.Kubernetes.Tests;

public sealed class KubernetesCaRootStoreTests : IAsyncLifetime
{
    private const string Ns = "istio-system";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private CaKubernetesApiStub _stub = null!;

    public async Task InitializeAsync() => _stub = await CaKubernetesApiStub.StartAsync();

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public async Task The_first_replica_creates_the_root_Secret_and_the_second_loads_the_same_root()
    {
        using var first = Store("replica-a");
        using var second = Store("replica-b");

        using var created = await first.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);
        using var loaded = await second.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);

        var secret = _stub.GetSecret(Ns, "istio-ca-secret")!;
        Assert.Equal(KubernetesCaRootStore.SecretType, secret.Type);
        Assert.Equal(["ca-cert.pem", "ca-key.pem"], secret.Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(created.RootCertificatePem, loaded.RootCertificatePem);
        Assert.Equal(created.RootCertificatePem.Trim(), Encoding.UTF8.GetString(secret.Data["ca-cert.pem"]).Trim());
        Assert.Equal(1, _stub.SecretCreates);
        Assert.Null(_stub.GetLease(Ns, "xds-ca-root")!.Spec.HolderIdentity); // released after creating
    }

    [Fact]
    public async Task Two_replicas_racing_to_create_end_with_one_root()
    {
        using var a = Store("replica-a");
        using var b = Store("replica-b");
        _stub.HoldNextSecretCreate();

        // a holds the Lease and sends its create, which stalls past the Lease's end; b takes the expired Lease and
        // creates first. a's create then meets b's Secret (409) and a loads b's root.
        var aTask = a.LoadOrCreateAsync(CancellationToken.None);
        await _stub.SecretCreateArrived.Task.WaitAsync(Bound);
        _clock.Advance(TimeSpan.FromSeconds(16));
        using var bRoot = await b.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);
        _stub.ReleaseHeldSecretCreate();
        using var aRoot = await aTask.WaitAsync(Bound);

        Assert.Equal(bRoot.RootCertificatePem, aRoot.RootCertificatePem);
        Assert.Equal(2, _stub.SecretCreates);
        Assert.Equal(1, _stub.SecretConflicts);
        var stored = Encoding.UTF8.GetString(_stub.GetSecret(Ns, "istio-ca-secret")!.Data["ca-cert.pem"]);
        Assert.Equal(bRoot.RootCertificatePem.Trim(), stored.Trim());
    }

    [Fact]
    public async Task A_cacerts_Secret_is_preferred_to_istio_ca_secret_and_loaded_as_a_plugged_in_intermediate()
    {
        _stub.PutSecret(Ns, "istio-ca-secret", TestPki.SelfSigned(_clock, out _));
        _stub.PutSecret(Ns, "cacerts", TestPki.PluggedIntermediate(_clock, out var rootPem, out var intermediatePem));
        using var store = Store("replica-a");

        using var authority = await store.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(rootPem.Trim(), authority.RootCertificatePem.Trim());
        Assert.Equal(intermediatePem.Trim(), authority.CertificateChainPem[0].Trim());
        Assert.Equal(2, authority.CertificateChain.Count);
        Assert.Equal(0, _stub.SecretCreates);
        Assert.Null(_stub.GetLease(Ns, "xds-ca-root")); // nothing to create, so no Lease taken
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cacerts_Secret_in_the_tls_crt_form_loads_as_a_plugged_in_intermediate(bool tlsCrtHoldsTheChain)
    {
        var cacerts = TestPki.PluggedIntermediate(_clock, out var rootPem, out var intermediatePem);
        _stub.PutSecret(Ns, "cacerts", TestPki.TlsForm(cacerts, tlsCrtHoldsTheChain));
        using var store = Store("replica-a");

        using var authority = await store.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(intermediatePem.Trim(), authority.CertificateChainPem[0].Trim());
        Assert.Equal(rootPem.Trim(), authority.RootCertificatePem.Trim());
        Assert.Equal(2, authority.CertificateChain.Count);
        Assert.Equal(0, _stub.SecretCreates);
    }

    [Fact]
    public async Task A_malformed_tls_key_is_refused_naming_the_Secrets_keys()
    {
        var files = TestPki.TlsForm(TestPki.PluggedIntermediate(_clock, out _, out _), withChain: false);
        files["tls.key"] = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
        _stub.PutSecret(Ns, "cacerts", files);
        using var store = Store("replica-a");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => store.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Contains("Secret istio-system/cacerts (tls.crt, tls.key and ca.crt read as", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_istio_ca_secret_is_loaded_without_creating_anything()
    {
        _stub.PutSecret(Ns, "istio-ca-secret", TestPki.SelfSigned(_clock, out var rootPem));
        using var store = Store("replica-a");

        using var authority = await store.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(rootPem.Trim(), authority.RootCertificatePem.Trim());
        Assert.Equal(0, _stub.SecretCreates);
    }

    [Theory]
    [InlineData("ca-key.pem", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "ca-key.pem in Secret istio-system/cacerts")]
    [InlineData("ca-cert.pem", "not a certificate", "ca-cert.pem in Secret istio-system/cacerts")]
    [InlineData("ca-key.pem", "", "Secret istio-system/cacerts has no ca-key.pem")]
    public async Task A_malformed_Secret_is_refused_with_a_message_naming_the_key(string key, string value, string expected)
    {
        var files = TestPki.PluggedIntermediate(_clock, out _, out _);
        files[key] = value;
        _stub.PutSecret(Ns, "cacerts", files);
        using var store = Store("replica-a");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => store.LoadOrCreateAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _stub.SecretCreates); // never replaced by a new root
    }

    [Fact]
    public async Task A_replica_without_the_Lease_waits_for_the_Secret_and_loads_it()
    {
        using var client = _stub.CreateClient();
        var holder = new KubernetesLease(client, Ns, "xds-ca-root", "replica-a", TimeSpan.FromMinutes(10), _clock);
        Assert.True(await holder.TryAcquireAsync(CancellationToken.None));
        using var waiting = Store("replica-b");

        var load = waiting.LoadOrCreateAsync(CancellationToken.None);
        _stub.PutSecret(Ns, "istio-ca-secret", TestPki.SelfSigned(_clock, out var rootPem));
        await AdvanceUntilAsync(load, TimeSpan.FromSeconds(2));
        using var authority = await load;

        Assert.Equal(rootPem.Trim(), authority.RootCertificatePem.Trim());
        Assert.Equal(0, _stub.SecretCreates);
        Assert.Equal("replica-a", _stub.GetLease(Ns, "xds-ca-root")!.Spec.HolderIdentity);
    }

    [Fact]
    public async Task A_replica_that_waits_past_its_timeout_fails_naming_the_Lease_holder()
    {
        using var client = _stub.CreateClient();
        var holder = new KubernetesLease(client, Ns, "xds-ca-root", "replica-a", TimeSpan.FromMinutes(10), _clock);
        Assert.True(await holder.TryAcquireAsync(CancellationToken.None));
        using var waiting = Store("replica-b", o => o.WaitTimeout = TimeSpan.FromSeconds(6));

        var load = waiting.LoadOrCreateAsync(CancellationToken.None);
        await AdvanceUntilAsync(load, TimeSpan.FromSeconds(2));

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => load);
        Assert.Contains("replica-a", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _stub.SecretCreates);
    }

    private KubernetesCaRootStore Store(string replica, Action<KubernetesCaRootOptions>? configure = null)
    {
        var options = new KubernetesCaRootOptions { KubeConfigPath = _stub.KubeConfigPath, ReplicaId = replica };
        configure?.Invoke(options);
        return new KubernetesCaRootStore(options, _clock);
    }

    /// <summary>Moves the fake clock on by <paramref name="step"/> until <paramref name="task"/> ends: each step
    /// releases the store's next retry. Bounded in steps and in real time.</summary>
    private async Task AdvanceUntilAsync(Task task, TimeSpan step)
    {
        var limit = System.Diagnostics.Stopwatch.StartNew();
        for (var steps = 0; !task.IsCompleted; steps++)
        {
            if (steps > 500 || limit.Elapsed > Bound)
            {
                throw new TimeoutException($"the store did not finish after {steps} clock steps of {step} ({limit.Elapsed.TotalSeconds:0.#} s)");
            }
            _clock.Advance(step);
            await Task.WhenAny(task, Task.Delay(20));
        }
    }
}
