using Microsoft.Extensions.Time.Testing;
using XdsServer.Kubernetes.Tests.Stubs;

namespace XdsServer.Kubernetes.Tests;

public sealed class KubernetesLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(15);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private CaKubernetesApiStub _stub = null!;
    private k8s.IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _stub = await CaKubernetesApiStub.StartAsync();
        _client = _stub.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task A_held_lease_is_refused_to_others_until_it_expires_then_handed_over()
    {
        var a = Lease("replica-a");
        var b = Lease("replica-b");

        Assert.True(await a.TryAcquireAsync(CancellationToken.None));
        Assert.False(await b.TryAcquireAsync(CancellationToken.None));
        Assert.Equal("replica-a", b.ObservedHolder);

        _clock.Advance(Duration - TimeSpan.FromSeconds(1));
        Assert.False(await b.TryAcquireAsync(CancellationToken.None));
        Assert.True(a.IsHeld);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(a.IsHeld);
        Assert.True(await b.TryAcquireAsync(CancellationToken.None));

        var stored = _stub.GetLease("istio-system", "xds-ca-root")!;
        Assert.Equal("replica-b", stored.Spec.HolderIdentity);
        Assert.Equal(1, stored.Spec.LeaseTransitions);
        Assert.Equal(15, stored.Spec.LeaseDurationSeconds);
        Assert.False(await a.RenewAsync(CancellationToken.None)); // a learns it lost the lease
    }

    [Fact]
    public async Task Renewing_keeps_the_lease_past_its_first_duration()
    {
        var a = Lease("replica-a");
        var b = Lease("replica-b");
        Assert.True(await a.TryAcquireAsync(CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(await a.RenewAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.False(await b.TryAcquireAsync(CancellationToken.None));
        Assert.True(a.IsHeld);
    }

    [Fact]
    public async Task A_released_lease_can_be_taken_at_once()
    {
        var a = Lease("replica-a");
        var b = Lease("replica-b");
        Assert.True(await a.TryAcquireAsync(CancellationToken.None));

        await a.ReleaseAsync(CancellationToken.None);

        Assert.Null(_stub.GetLease("istio-system", "xds-ca-root")!.Spec.HolderIdentity);
        Assert.True(await b.TryAcquireAsync(CancellationToken.None));
        Assert.Equal(0, _stub.GetLease("istio-system", "xds-ca-root")!.Spec.LeaseTransitions); // free, not taken over
    }

    [Fact]
    public async Task A_write_based_on_a_stale_read_loses_to_the_one_that_got_there_first()
    {
        var a = Lease("replica-a");
        Assert.True(await a.TryAcquireAsync(CancellationToken.None));
        _clock.Advance(Duration);

        // b and c both read the expired lease; b writes first, so c's write carries a stale resourceVersion.
        var b = Lease("replica-b");
        var c = Lease("replica-c");
        _stub.HoldNextLeaseReplace();
        var cTry = c.TryAcquireAsync(CancellationToken.None);
        await _stub.LeaseReplaceArrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await b.TryAcquireAsync(CancellationToken.None));
        _stub.ReleaseHeldLeaseReplace();

        Assert.False(await cTry.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(c.IsHeld);
        Assert.Equal("replica-b", _stub.GetLease("istio-system", "xds-ca-root")!.Spec.HolderIdentity);
    }

    private KubernetesLease Lease(string id) => new(_client, "istio-system", "xds-ca-root", id, Duration, _clock);
}
