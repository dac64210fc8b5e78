using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Cache;

namespace XdsServer.Ca.Tests;

/// <summary>Issue 4 §3/§5: per-identity SDS secrets; a stream authenticated as A never gets B's.</summary>
public sealed class WorkloadSecretPublisherTests : IDisposable
{
    private static readonly SpiffeId A = SpiffeId.ForIstio("cluster.local", "a", "alpha");
    private static readonly SpiffeId B = SpiffeId.ForIstio("cluster.local", "b", "beta");

    private readonly FakeTimeProvider _clock = TestCa.Clock();
    private readonly RotatingCertificateAuthority _authority;
    private readonly WorkloadCertificateRotator _rotator;
    private readonly SnapshotCache _cache;

    public WorkloadSecretPublisherTests()
    {
        _authority = new RotatingCertificateAuthority(CertificateAuthority.CreateSelfSigned(timeProvider: _clock), timeProvider: _clock);
        _rotator = new WorkloadCertificateRotator(_authority, new WorkloadCertificateRotatorOptions { Lifetime = TimeSpan.FromHours(2) }, _clock, new Random(5));
        _cache = new SnapshotCache(new SnapshotCacheOptions { NodeHash = NodeHash.ById }, _clock);
    }

    public void Dispose()
    {
        _rotator.Dispose();
        _authority.Dispose();
        _cache.Dispose();
    }

    private Secret SecretOf(SpiffeId identity, string name)
    {
        Assert.True(_cache.TryGetSnapshot(identity.ToString(), out var snapshot));
        Assert.True(snapshot.GetResources(TypeUrls.Secret)!.TryGet(name, out var resource));
        return (Secret)resource.Message;
    }

    [Fact]
    public void Each_identity_group_holds_its_own_default_and_rootca_secrets_and_never_anothers()
    {
        _rotator.Add(A);
        using var publisher = new WorkloadSecretPublisher(_rotator, _cache);
        _rotator.Add(B);

        foreach (var (self, other) in new[] { (A, B), (B, A) })
        {
            Assert.True(_cache.TryGetSnapshot(self.ToString(), out var snapshot));
            var secrets = snapshot.GetResources(TypeUrls.Secret)!;
            Assert.Equal(["ROOTCA", "default"], secrets.Names.Order(StringComparer.Ordinal));
            var mine = _rotator.Get(self)!;
            var theirs = _rotator.Get(other)!;

            var tls = SecretOf(self, "default").TlsCertificate;
            using var leaf = X509Certificate2.CreateFromPem(tls.CertificateChain.InlineString);
            Assert.Equal(mine.Certificate.CertificatePem, leaf.ExportCertificatePem());
            Assert.Equal(mine.PrivateKeyPem.Trim(), tls.PrivateKey.InlineString.Trim());
            using (var key = ECDsa.Create())
            {
                key.ImportFromPem(tls.PrivateKey.InlineString);
                using var paired = leaf.CopyWithPrivateKey(key); // the key is the certificate's
            }

            // Nothing of the other identity anywhere in this group's snapshot.
            foreach (var resource in snapshot.ResourceSets.SelectMany(s => s))
            {
                var text = resource.Message.ToString();
                Assert.DoesNotContain(theirs.Certificate.CertificatePem.Split('\n')[1], text, StringComparison.Ordinal);
                Assert.DoesNotContain(theirs.PrivateKeyPem.Split('\n')[1], text, StringComparison.Ordinal);
            }
            Assert.Equal(mine.TrustBundle.Pem, SecretOf(self, "ROOTCA").ValidationContext.TrustedCa.InlineString);
        }
    }

    [Fact]
    public void A_renewal_and_a_root_rotation_are_republished()
    {
        using var publisher = new WorkloadSecretPublisher(_rotator, _cache);
        var first = _rotator.Add(A);
        _clock.Advance(first.RenewAt - _clock.GetUtcNow());
        var renewed = _rotator.Get(A)!;
        Assert.NotEqual(first.Certificate.SerialNumber, renewed.Certificate.SerialNumber);
        Assert.StartsWith(renewed.Certificate.CertificatePem, SecretOf(A, "default").TlsCertificate.CertificateChain.InlineString, StringComparison.Ordinal);

        _authority.Rotate(CertificateAuthority.CreateSelfSigned(timeProvider: _clock), TimeSpan.FromHours(3));
        var bundle = SecretOf(A, "ROOTCA").ValidationContext.TrustedCa.InlineString;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(bundle);
        Assert.Equal(2, roots.Count);

        _clock.Advance(TimeSpan.FromHours(3));
        roots = [];
        roots.ImportFromPem(SecretOf(A, "ROOTCA").ValidationContext.TrustedCa.InlineString);
        Assert.Single(roots);
        Assert.Equal(_authority.Current.RootCertificatePem, roots[0].ExportCertificatePem());
    }

    [Fact]
    public void A_node_claims_an_identity_by_istio_metadata_or_a_spiffe_node_id_and_nothing_else()
    {
        var hash = new WorkloadIdentityNodeHash("cluster.local");
        var istio = new Node { Id = "sidecar~10.0.0.1~pod.a~a.svc.cluster.local", Metadata = new Google.Protobuf.WellKnownTypes.Struct() };
        istio.Metadata.Fields["NAMESPACE"] = Google.Protobuf.WellKnownTypes.Value.ForString("a");
        istio.Metadata.Fields["SERVICE_ACCOUNT"] = Google.Protobuf.WellKnownTypes.Value.ForString("alpha");
        Assert.Equal(A.ToString(), hash.GetGroup(istio));
        Assert.Equal(B.ToString(), hash.GetGroup(new Node { Id = B.ToString() }));

        // No claim: a plain id, another trust domain, a malformed service account, a non-string value.
        Assert.Equal(WorkloadIdentityNodeHash.Unclaimed, hash.GetGroup(new Node { Id = "envoy-1" }));
        Assert.Equal(WorkloadIdentityNodeHash.Unclaimed, hash.GetGroup(new Node { Id = "spiffe://example.org/ns/a/sa/alpha" }));
        var malformed = istio.Clone();
        malformed.Metadata.Fields["SERVICE_ACCOUNT"] = Google.Protobuf.WellKnownTypes.Value.ForString("al/pha");
        Assert.Null(hash.ClaimedIdentity(malformed));
        var numeric = istio.Clone();
        numeric.Metadata.Fields["NAMESPACE"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(1);
        Assert.Equal(WorkloadIdentityNodeHash.Unclaimed, hash.GetGroup(numeric));
    }
}
