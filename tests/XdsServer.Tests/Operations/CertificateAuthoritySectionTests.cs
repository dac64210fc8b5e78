using System.Text;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Ca;

namespace XdsServer.Tests.Operations;

/// <summary>The "Certificate authority" section that <c>AddCertificateAuthority</c> adds to the status page.</summary>
public sealed class CertificateAuthoritySectionTests
{
    [Fact]
    public async Task It_shows_the_root_its_expiry_a_rotation_overlap_and_the_identities_held_without_key_material()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddXdsServer().AddSnapshotCache()
            .AddCertificateAuthority(o => o.Authority = new CertificateAuthorityOptions { TrustDomain = "example.org" })
            .AddWorkloadSecrets();
        await using var provider = services.BuildServiceProvider();
        var authority = provider.GetRequiredService<RotatingCertificateAuthority>();
        var firstRoot = authority.Current.RootCertificate.Subject;
        authority.Rotate(CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = "example.org" }), TimeSpan.FromHours(6));
        provider.GetRequiredService<WorkloadCertificateRotator>().Add(SpiffeId.Parse("spiffe://example.org/ns/shop/sa/cart"));

        var section = Assert.Single(provider.GetServices<IXdsStatusSection>());
        Assert.Equal("Certificate authority", section.Title);
        var html = new StringBuilder();
        await section.WriteAsync(new XdsStatusSectionWriter(html, 100), CancellationToken.None);
        var text = html.ToString();

        Assert.Contains("<th>trust domain</th><td>example.org</td>", text, StringComparison.Ordinal);
        Assert.Contains("<th>root valid until</th>", text, StringComparison.Ordinal);
        Assert.Contains("previous root " + System.Net.WebUtility.HtmlEncode(firstRoot) + " trusted until", text, StringComparison.Ordinal);
        Assert.Contains("<th>identities held</th><td>1</td>", text, StringComparison.Ordinal);
        Assert.Contains("<td>spiffe://example.org/ns/shop/sa/cart</td>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN", text, StringComparison.Ordinal);
    }
}
