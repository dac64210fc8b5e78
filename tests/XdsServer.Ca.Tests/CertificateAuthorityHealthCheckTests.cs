using Envoy.Config.Core.V3;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Cache;
using HealthStatus = Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus;

namespace XdsServer.Ca.Tests;

/// <summary>The <c>certificate-authority</c> health check as a host gets it from DI: an operator sees an expiring
/// or expired CA chain, and failing renewals, in the health endpoint.</summary>
public sealed class CertificateAuthorityHealthCheckTests
{
    private static readonly SpiffeId A = SpiffeId.ForIstio("cluster.local", "a", "alpha");

    private static (ServiceCollection Services, IXdsServerBuilder Builder) Host(FakeTimeProvider clock)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddLogging();
        return (services, services.AddXdsServer().AddSnapshotCache());
    }

    private static async Task<HealthReportEntry> CheckAsync(IServiceProvider services)
    {
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == CertificateAuthorityHealthCheck.Name);
        return report.Entries[CertificateAuthorityHealthCheck.Name];
    }

    [Fact]
    public async Task AddCertificateAuthority_registers_the_check_once_and_it_watches_the_rotator_of_AddWorkloadSecrets_through_to_chain_expiry()
    {
        var clock = TestCa.Clock();
        var (services, builder) = Host(clock);
        builder.AddCertificateAuthority(o => o.Authority = new CertificateAuthorityOptions { RootLifetime = TimeSpan.FromDays(3) }).AddWorkloadSecrets();
        builder.AddCertificateAuthority(_ => { });
        await using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations,
            r => r.Name == CertificateAuthorityHealthCheck.Name);

        // A 3-day chain is within twice the default 90-day MaxLifetime: already a warning.
        var entry = await CheckAsync(provider);
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("ends at", entry.Description, StringComparison.Ordinal);

        provider.GetRequiredService<WorkloadSecretPublisher>().Ensure(A);
        // A stream stays open as A, so the identity is not released as idle on the way.
        using var stream = provider.GetRequiredKeyedService<SnapshotCache>(CertificateAuthorityServiceCollectionExtensions.WorkloadSecretsCacheKey)
            .TrackStream(new Node { Id = A.ToString() });
        entry = await CheckAsync(provider);
        Assert.Equal(1, entry.Data["heldIdentities"]);
        Assert.Equal(0, entry.Data["failingIdentities"]);

        // Past the chain's end: Unhealthy, and the renewal that failed on the way is reported too.
        clock.Advance(TimeSpan.FromDays(4));
        entry = await CheckAsync(provider);
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("expired", entry.Description, StringComparison.Ordinal);
        Assert.Equal(1, entry.Data["failingIdentities"]);
        Assert.Contains(A.ToString(), entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_workload_secrets_the_check_judges_the_chain_alone()
    {
        var clock = TestCa.Clock();
        var (services, builder) = Host(clock);
        builder.AddCertificateAuthority(_ => { });
        await using var provider = services.BuildServiceProvider();

        var entry = await CheckAsync(provider);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.False(entry.Data.ContainsKey("heldIdentities"));
        Assert.Contains("signs until", entry.Description, StringComparison.Ordinal);
    }
}
