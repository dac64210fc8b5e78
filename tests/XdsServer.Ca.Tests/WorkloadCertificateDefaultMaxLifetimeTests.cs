using System.Security.Cryptography;

namespace XdsServer.Ca.Tests;

/// <summary>The default cap on workload certificate lifetimes: a stolen workload key is usable for 48 hours at most.</summary>
public sealed class WorkloadCertificateDefaultMaxLifetimeTests
{
    [Fact]
    public void A_request_for_90_days_with_default_options_gets_48_hours()
    {
        var clock = TestCa.Clock();
        using var ca = CertificateAuthority.CreateSelfSigned(null, clock);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuer = new WorkloadCertificateIssuer(ca, null, clock);

        var issued = issuer.Issue(TestCa.Csr(key), SpiffeId.ForIstio("cluster.local", "default", "web"), TimeSpan.FromDays(90));

        Assert.Equal(TimeSpan.FromHours(48), new WorkloadCertificateOptions().MaxLifetime);
        Assert.Equal(clock.GetUtcNow().AddHours(48), issued.NotAfter);
        Assert.True(issued.LifetimeClamped);
    }
}
