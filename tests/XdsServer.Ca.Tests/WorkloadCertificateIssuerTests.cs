using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace XdsServer.Ca.Tests;

public sealed class WorkloadCertificateIssuerTests : IDisposable
{
    private static readonly SpiffeId Caller = SpiffeId.ForIstio("cluster.local", "default", "web");

    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestCa.Clock();
    private readonly CertificateAuthority _ca;
    private readonly WorkloadCertificateIssuer _issuer;
    private readonly ECDsa _workloadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public WorkloadCertificateIssuerTests()
    {
        _ca = CertificateAuthority.CreateSelfSigned(null, _clock);
        _clock.Advance(TimeSpan.FromHours(1));
        _issuer = new WorkloadCertificateIssuer(_ca, new() { MaxLifetime = TimeSpan.FromDays(7) }, _clock);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _workloadKey.Dispose();
    }

    [Fact]
    public void Issued_chain_is_leaf_then_root_and_verifies_against_the_root()
    {
        var issued = _issuer.Issue(TestCa.Csr(_workloadKey), Caller);

        Assert.Equal(2, issued.CertificateChainPem.Count);
        Assert.Equal(_ca.RootCertificatePem, issued.RootCertificatePem);
        using var chain = TestCa.Verify(issued.CertificateChainPem, _clock.GetUtcNow());
        Assert.Equal(_ca.RootCertificate.Thumbprint, chain.ChainElements[^1].Certificate.Thumbprint);
    }

    [Fact]
    public void Leaf_follows_the_x509_svid_rules()
    {
        var issued = _issuer.Issue(TestCa.Csr(_workloadKey), Caller);
        using var leaf = TestCa.Load(issued.CertificatePem);

        // Exactly one URI SAN, the SPIFFE ID; critical because the subject is empty.
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.True(san.Critical);
        Assert.Equal([Caller.ToString()], UriSans(san));
        Assert.Empty(san.EnumerateDnsNames());
        Assert.Equal("", leaf.Subject);

        var constraints = leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.False(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);

        var usage = leaf.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, usage.KeyUsages);
        Assert.True(usage.Critical);

        var eku = leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!).ToArray());

        var ski = leaf.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single();
        Assert.Equal(new X509SubjectKeyIdentifierExtension(leaf.PublicKey, false).SubjectKeyIdentifier, ski.SubjectKeyIdentifier);
        var aki = leaf.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single();
        var rootSki = _ca.RootCertificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single();
        Assert.Equal(Convert.FromHexString(rootSki.SubjectKeyIdentifier!), aki.KeyIdentifier!.Value.ToArray());

        Assert.Equal(_ca.RootCertificate.SubjectName.RawData, leaf.IssuerName.RawData);
        Assert.Equal(issued.SerialNumber, leaf.SerialNumber);
        Assert.Equal(Caller, issued.Identity);
        using var leafKey = leaf.GetECDsaPublicKey();
        Assert.Equal(_workloadKey.ExportSubjectPublicKeyInfo(), leafKey!.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Default_lifetime_is_24_hours_set_back_by_the_skew_allowance()
    {
        var now = _clock.GetUtcNow();
        var issued = _issuer.Issue(TestCa.Csr(_workloadKey), Caller);
        using var leaf = TestCa.Load(issued.CertificatePem);

        Assert.Equal(now.AddHours(24), issued.NotAfter);
        Assert.Equal(now.AddMinutes(-1), issued.NotBefore);
        Assert.Equal(issued.NotAfter, new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
        Assert.Equal(issued.NotBefore, new DateTimeOffset(leaf.NotBefore.ToUniversalTime()));
        Assert.False(issued.LifetimeClamped);
    }

    [Fact]
    public void Requested_lifetime_is_honoured_up_to_the_maximum_and_clamped_beyond()
    {
        var now = _clock.GetUtcNow();

        var shortOne = _issuer.Issue(TestCa.Csr(_workloadKey), Caller, TimeSpan.FromHours(2));
        Assert.Equal(now.AddHours(2), shortOne.NotAfter);
        Assert.False(shortOne.LifetimeClamped);

        var longOne = _issuer.Issue(TestCa.Csr(_workloadKey), Caller, TimeSpan.FromDays(365));
        Assert.Equal(now.AddDays(7), longOne.NotAfter);
        Assert.True(longOne.LifetimeClamped);
        using var leaf = TestCa.Load(longOne.CertificatePem);
        Assert.Equal(now.AddDays(7), new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));

        var negative = Assert.Throws<CertificateRequestException>(() => _issuer.Issue(TestCa.Csr(_workloadKey), Caller, TimeSpan.FromHours(-1)));
        Assert.Equal(CertificateRequestError.InvalidLifetime, negative.Reason);
    }

    [Fact]
    public void Leaf_never_outlives_the_ca()
    {
        var issuer = new WorkloadCertificateIssuer(_ca, new() { MaxLifetime = TimeSpan.FromDays(10000) }, _clock);

        var issued = issuer.Issue(TestCa.Csr(_workloadKey), Caller, TimeSpan.FromDays(9000));

        Assert.Equal(new DateTimeOffset(_ca.RootCertificate.NotAfter.ToUniversalTime()), issued.NotAfter);
        Assert.True(issued.LifetimeClamped);
    }

    [Fact]
    public void A_csr_asking_for_another_identity_gets_the_callers_identity()
    {
        var csr = TestCa.Csr(_workloadKey, "admin", "spiffe://cluster.local/ns/kube-system/sa/admin");

        var issued = _issuer.Issue(csr, Caller);

        using var leaf = TestCa.Load(issued.CertificatePem);
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([Caller.ToString()], UriSans(san));
        Assert.DoesNotContain("admin", leaf.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public void Uri_san_holds_the_id_exactly_as_written()
    {
        var id = SpiffeId.Parse("spiffe://my_trust-domain.io/Mixed/Case_Path.v1");

        var issued = _issuer.Issue(TestCa.Csr(_workloadKey), id);

        using var leaf = TestCa.Load(issued.CertificatePem);
        Assert.Equal([id.ToString()], UriSans(leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single()));
    }

    [Fact]
    public void Rsa_2048_csr_is_signed_with_key_encipherment()
    {
        var issued = _issuer.Issue(TestCa.Csr(TestCa.Rsa2048.Value), Caller);

        using var leaf = TestCa.Load(issued.CertificatePem);
        var usage = leaf.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, usage.KeyUsages);
        using var chain = TestCa.Verify(issued.CertificateChainPem, _clock.GetUtcNow());
    }

    [Fact]
    public void Rsa_1024_csr_is_refused_as_weak()
    {
        var ex = Assert.Throws<CertificateRequestException>(() => _issuer.Issue(TestCa.Csr(TestCa.Rsa1024.Value), Caller));

        Assert.Equal(CertificateRequestError.WeakKey, ex.Reason);
        Assert.Contains("RSA-1024", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void P521_csr_is_refused_as_an_unaccepted_curve()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP521);

        var ex = Assert.Throws<CertificateRequestException>(() => _issuer.Issue(TestCa.Csr(key), Caller));

        Assert.Equal(CertificateRequestError.WeakKey, ex.Reason);
        Assert.Contains("only P-256 and P-384", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void P384_csr_is_accepted()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        var issued = _issuer.Issue(TestCa.Csr(key), Caller);

        using var chain = TestCa.Verify(issued.CertificateChainPem, _clock.GetUtcNow());
    }

    [Theory]
    [InlineData("not a csr at all", CertificateRequestError.MalformedPem, "no well-formed")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----", CertificateRequestError.MalformedPem, "no well-formed")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", CertificateRequestError.MalformedPem, "labelled \"CERTIFICATE\"")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAECAwQF\n-----END CERTIFICATE REQUEST-----", CertificateRequestError.MalformedRequest, "not a well-formed PKCS#10")]
    public void Garbage_is_refused(string pem, CertificateRequestError reason, string message)
    {
        var ex = Assert.Throws<CertificateRequestException>(() => _issuer.Issue(pem, Caller));

        Assert.Equal(reason, ex.Reason);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_csr_whose_rsa_key_does_not_decode_is_refused_as_malformed()
    {
        // A PKCS#10 request that is well-formed outside, with an rsaEncryption key whose bits are not an RSA key.
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence()) // CertificationRequestInfo
            {
                writer.WriteInteger(0);
                writer.WriteEncodedValue(new X500DistinguishedName("CN=broken").RawData);
                using (writer.PushSequence()) // SubjectPublicKeyInfo
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier("1.2.840.113549.1.1.1");
                        writer.WriteNull();
                    }
                    writer.WriteBitString("not an RSA key at all"u8);
                }
                writer.WriteEncodedValue([0xA0, 0x00]); // attributes [0], empty
            }
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier("1.2.840.113549.1.1.11"); // sha256WithRSAEncryption
                writer.WriteNull();
            }
            writer.WriteBitString(new byte[256]);
        }
        var pem = PemEncoding.WriteString("CERTIFICATE REQUEST", writer.Encode());

        var ex = Assert.Throws<CertificateRequestException>(() => _issuer.Issue(pem, Caller));

        Assert.Equal(CertificateRequestError.MalformedRequest, ex.Reason);
        Assert.Contains("RSA public key cannot be decoded", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tampered_csr_signature_is_refused()
    {
        // Change the signed subject after signing: the signature is well-formed but no longer matches.
        var pem = TestCa.Csr(_workloadKey, "aaaaaaaa");
        var der = PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : null!;
        var at = der.AsSpan().IndexOf(Encoding.ASCII.GetBytes("aaaaaaaa"));
        Encoding.ASCII.GetBytes("bbbbbbbb").CopyTo(der, at);
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);

        var ex = Assert.Throws<CertificateRequestException>(() => _issuer.Issue(tampered, Caller));

        Assert.Equal(CertificateRequestError.BadSignature, ex.Reason);
        Assert.Contains("signature does not verify", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new WorkloadCertificateIssuer(_ca, new() { MaxLifetime = TimeSpan.FromHours(1) }));
        Assert.Throws<ArgumentException>(() => new WorkloadCertificateIssuer(_ca, new() { DefaultLifetime = TimeSpan.Zero }));
    }

    private static string[] UriSans(X509SubjectAlternativeNameExtension san)
    {
        // .NET enumerates DNS and IP SANs only; read URI SANs ([6] IA5String) with the framework's ASN.1 reader.
        var reader = new System.Formats.Asn1.AsnReader(san.RawData, System.Formats.Asn1.AsnEncodingRules.DER);
        var names = reader.ReadSequence();
        var uris = new List<string>();
        while (names.HasData)
        {
            var tag = names.PeekTag();
            if (tag.HasSameClassAndValue(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 6)))
            {
                uris.Add(names.ReadCharacterString(System.Formats.Asn1.UniversalTagNumber.IA5String, tag));
            }
            else
            {
                names.ReadEncodedValue();
                uris.Add("<other:" + tag + ">");
            }
        }
        return uris.ToArray();
    }
}
