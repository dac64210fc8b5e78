using System.Text;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Ca;
using XdsServer.Kubernetes.Tests.Stubs;

namespace XdsServer.Kubernetes.Tests;

public sealed class KubernetesCaServiceCollectionTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private CaKubernetesApiStub _stub = null!;

    public async Task InitializeAsync() => _stub = await CaKubernetesApiStub.StartAsync();

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public async Task AddKubernetesTokenReview_registers_a_token_reviewer_that_asks_the_cluster()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(new V1TokenReviewStatus
        {
            Authenticated = true,
            User = new V1UserInfo { Username = "system:serviceaccount:shop:web" },
            Audiences = ["mesh"],
        });
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddXdsServer().AddKubernetesTokenReview(o =>
        {
            o.KubeConfigPath = _stub.KubeConfigPath;
            o.Audiences = ["mesh"];
        });
        await using var provider = services.BuildServiceProvider();

        var reviewer = Assert.Single(provider.GetServices<ITokenReviewer>());
        var result = await reviewer.ReviewAsync("token", CancellationToken.None);

        Assert.IsType<KubernetesTokenReviewer>(reviewer);
        Assert.Equal(SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web"), result.Identity);
        Assert.Equal(["mesh"], _stub.LastTokenReview!.Audiences);
    }

    [Fact]
    public async Task AddKubernetesCaRoot_before_AddCertificateAuthority_makes_the_Secrets_root_the_CAs_root()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddXdsServer()
            .AddKubernetesCaRoot(o => o.KubeConfigPath = _stub.KubeConfigPath)
            .AddCertificateAuthority(o => o.Authority = new CertificateAuthorityOptions { TrustDomain = "example.org" });
        await using var provider = services.BuildServiceProvider();

        var ca = provider.GetRequiredService<RotatingCertificateAuthority>();

        var stored = Encoding.UTF8.GetString(_stub.GetSecret("istio-system", "istio-ca-secret")!.Data["ca-cert.pem"]);
        Assert.Equal(stored.Trim(), ca.Current.RootCertificatePem.Trim());
        Assert.Contains("O=example.org", ca.Current.RootCertificate.Subject, StringComparison.Ordinal); // AddCertificateAuthority's root options
    }

    [Fact]
    public async Task AddKubernetesCaRoot_registers_the_root_rotator_as_a_hosted_service()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddLogging();
        services.AddXdsServer()
            .AddKubernetesCaRoot(o => o.KubeConfigPath = _stub.KubeConfigPath)
            .AddCertificateAuthority(_ => { });
        await using var provider = services.BuildServiceProvider();

        var rotator = Assert.Single(provider.GetServices<IHostedService>().OfType<KubernetesCaRootRotator>());

        Assert.Same(provider.GetRequiredService<KubernetesCaRootRotator>(), rotator);
        Assert.Equal(KubernetesCaRootCheckResult.Unchanged, await rotator.CheckAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, _stub.SecretCreates);
    }

    [Fact]
    public void AddKubernetesCaRoot_after_AddCertificateAuthority_is_refused()
    {
        var builder = new ServiceCollection().AddXdsServer().AddCertificateAuthority(_ => { });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddKubernetesCaRoot(o => o.KubeConfigPath = _stub.KubeConfigPath));

        Assert.Contains("before AddCertificateAuthority", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKubernetesCaRoot_with_a_CA_folder_is_refused_at_resolve()
    {
        var services = new ServiceCollection();
        services.AddXdsServer()
            .AddKubernetesCaRoot(o => o.KubeConfigPath = _stub.KubeConfigPath)
            .AddCertificateAuthority(o => o.Folder = "/nonexistent/cacerts");
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<RotatingCertificateAuthority>());

        Assert.Contains("use one of them", ex.Message, StringComparison.Ordinal);
        Assert.Null(_stub.GetSecret("istio-system", "istio-ca-secret"));
    }
}
