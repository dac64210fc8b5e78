using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace XdsServer.Ca.Tests;

/// <summary><see cref="TrustBundle.ToSpiffeBundleJson"/> against the SPIFFE bundle format (a JWK Set).</summary>
public sealed class SpiffeBundleTests
{
    private static readonly byte[] Message = Encoding.UTF8.GetBytes("signed by the CA key");

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static string[] PropertyNames(JsonElement element) =>
        element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Decodes a base64url field after checking it is base64url without padding.</summary>
    private static byte[] Base64UrlField(JsonElement key, string name)
    {
        var text = key.GetProperty(name).GetString()!;
        Assert.DoesNotContain('=', text);
        Assert.DoesNotContain('+', text);
        Assert.DoesNotContain('/', text);
        return Base64Url.DecodeFromChars(text);
    }

    /// <summary>The single x5c entry, decoded as standard base64.</summary>
    private static byte[] Certificate(JsonElement key)
    {
        var x5c = key.GetProperty("x5c");
        Assert.Equal(1, x5c.GetArrayLength());
        return Convert.FromBase64String(x5c[0].GetString()!);
    }

    private static X509Certificate2 SelfSigned(ECCurve curve)
    {
        using var key = ECDsa.Create(curve);
        var request = new CertificateRequest("CN=Other Root", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        using var withKey = request.CreateSelfSigned(TestCa.Start, TestCa.Start.AddDays(30));
        return X509CertificateLoader.LoadCertificate(withKey.RawData);
    }

    [Theory]
    [InlineData(CertificateKeyAlgorithm.EcdsaP256, "P-256", 32)]
    [InlineData(CertificateKeyAlgorithm.EcdsaP384, "P-384", 48)]
    public void An_ec_root_is_an_x509_svid_jwk_with_the_ca_public_key(CertificateKeyAlgorithm algorithm, string curve, int size)
    {
        using var ca = CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = algorithm }, TestCa.Clock());
        var bundle = new TrustBundle([ca.RootCertificate]);

        var json = Parse(bundle.ToSpiffeBundleJson());

        var key = Assert.Single(json.GetProperty("keys").EnumerateArray());
        // X509-SVID 6.1: use x509-svid, no kid; RFC 7518 6.2.1: kty, crv, x, y; nothing else.
        Assert.Equal(["crv", "kty", "use", "x", "x5c", "y"], PropertyNames(key));
        Assert.Equal("x509-svid", key.GetProperty("use").GetString());
        Assert.Equal("EC", key.GetProperty("kty").GetString());
        Assert.Equal(curve, key.GetProperty("crv").GetString());
        Assert.Equal(ca.RootCertificate.RawData, Certificate(key));

        var x = Base64UrlField(key, "x");
        var y = Base64UrlField(key, "y");
        Assert.Equal(size, x.Length);
        Assert.Equal(size, y.Length);
        using var fromCertificate = ca.RootCertificate.GetECDsaPublicKey()!;
        var expected = fromCertificate.ExportParameters(includePrivateParameters: false);
        Assert.Equal(expected.Q.X, x);
        Assert.Equal(expected.Q.Y, y);

        // The JWK's key checks a signature made with the CA's private key.
        using var fromJwk = ECDsa.Create(new ECParameters { Curve = expected.Curve, Q = new ECPoint { X = x, Y = y } });
        var signature = ca.SignatureGenerator.SignData(Message, ca.SigningHash);
        Assert.True(fromJwk.VerifyData(Message, signature, ca.SigningHash, DSASignatureFormat.Rfc3279DerSequence));
        Assert.False(fromJwk.VerifyData(Encoding.UTF8.GetBytes("something else"), signature, ca.SigningHash, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void A_p521_root_has_66_byte_coordinates()
    {
        // A P-521 coordinate has 521 bits: its first of 66 bytes is 0 or 1, which a shortest encoding would drop.
        using var root = SelfSigned(ECCurve.NamedCurves.nistP521);

        var key = Parse(new TrustBundle([root]).ToSpiffeBundleJson()).GetProperty("keys")[0];

        Assert.Equal("P-521", key.GetProperty("crv").GetString());
        using var fromCertificate = root.GetECDsaPublicKey()!;
        var expected = fromCertificate.ExportParameters(includePrivateParameters: false);
        var x = Base64UrlField(key, "x");
        var y = Base64UrlField(key, "y");
        Assert.Equal(66, x.Length);
        Assert.Equal(66, y.Length);
        Assert.Equal(expected.Q.X, x);
        Assert.Equal(expected.Q.Y, y);
    }

    [Fact]
    public void An_rsa_root_is_an_x509_svid_jwk_with_the_ca_modulus_and_exponent()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(new() { KeyAlgorithm = CertificateKeyAlgorithm.Rsa }, TestCa.Clock());
        var bundle = new TrustBundle([ca.RootCertificate]);

        var key = Assert.Single(Parse(bundle.ToSpiffeBundleJson()).GetProperty("keys").EnumerateArray());

        Assert.Equal(["e", "kty", "n", "use", "x5c"], PropertyNames(key));
        Assert.Equal("RSA", key.GetProperty("kty").GetString());
        Assert.Equal("x509-svid", key.GetProperty("use").GetString());
        Assert.Equal(ca.RootCertificate.RawData, Certificate(key));

        // RFC 7518 6.3.1: Base64urlUInt, big-endian with no leading zero byte.
        var n = Base64UrlField(key, "n");
        var e = Base64UrlField(key, "e");
        Assert.Equal("AQAB", key.GetProperty("e").GetString());
        Assert.Equal(256, n.Length);
        Assert.NotEqual(0, n[0]);
        Assert.NotEqual(0, e[0]);
        using var fromCertificate = ca.RootCertificate.GetRSAPublicKey()!;
        var expected = fromCertificate.ExportParameters(includePrivateParameters: false);
        Assert.Equal(expected.Modulus, n);
        Assert.Equal(expected.Exponent, e);

        using var fromJwk = RSA.Create(new RSAParameters { Modulus = n, Exponent = e });
        var signature = ca.SignatureGenerator.SignData(Message, ca.SigningHash);
        Assert.True(fromJwk.VerifyData(Message, signature, ca.SigningHash, RSASignaturePadding.Pkcs1));
        Assert.False(fromJwk.VerifyData(Encoding.UTF8.GetBytes("something else"), signature, ca.SigningHash, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void A_root_on_a_curve_without_a_jwk_name_refuses_the_whole_bundle()
    {
        using var supported = CertificateAuthority.CreateSelfSigned(timeProvider: TestCa.Clock());
        using var brainpool = SelfSigned(ECCurve.NamedCurves.brainpoolP256r1);
        var bundle = new TrustBundle([supported.RootCertificate, brainpool]);

        var error = Assert.Throws<NotSupportedException>(() => bundle.ToSpiffeBundleJson());

        Assert.Contains("CN=Other Root", error.Message, StringComparison.Ordinal);
        // The bundle itself stays usable as PEM.
        Assert.Equal(2, bundle.RootPems.Count);
    }

    [Fact]
    public void The_sequence_number_rises_on_a_rotation_and_again_when_the_overlap_ends()
    {
        var clock = TestCa.Clock();
        using var authority = new RotatingCertificateAuthority(CertificateAuthority.CreateSelfSigned(timeProvider: clock), timeProvider: clock);
        var oldRoot = authority.Current.RootCertificate.RawData;
        var published = new List<long>();
        authority.TrustBundleChanged += (_, e) => published.Add(Parse(e.TrustBundle.ToSpiffeBundleJson()).GetProperty("spiffe_sequence").GetInt64());

        // The sequence starts at the clock's Unix seconds, so it keeps rising across restarts.
        var start = clock.GetUtcNow().ToUnixTimeSeconds();
        var first = Parse(authority.TrustBundle.ToSpiffeBundleJson());
        Assert.Equal(start, first.GetProperty("spiffe_sequence").GetInt64());
        Assert.Equal(oldRoot, Certificate(Assert.Single(first.GetProperty("keys").EnumerateArray())));

        var next = CertificateAuthority.CreateSelfSigned(timeProvider: clock);
        var overlap = TimeSpan.FromHours(30);
        authority.Rotate(next, overlap);

        // During the overlap: both roots, the new one first.
        var during = Parse(authority.TrustBundle.ToSpiffeBundleJson());
        Assert.Equal(start + 1, during.GetProperty("spiffe_sequence").GetInt64());
        Assert.Equal(start + 1, authority.TrustBundle.SequenceNumber);
        var keys = during.GetProperty("keys").EnumerateArray().ToArray();
        Assert.Equal(2, keys.Length);
        Assert.Equal(next.RootCertificate.RawData, Certificate(keys[0]));
        Assert.Equal(oldRoot, Certificate(keys[1]));
        Assert.All(keys, k => Assert.Equal("x509-svid", k.GetProperty("use").GetString()));

        clock.Advance(overlap - TimeSpan.FromMinutes(1));
        Assert.Equal(2, Parse(authority.TrustBundle.ToSpiffeBundleJson()).GetProperty("keys").GetArrayLength());

        // The overlap ends: the old root leaves and the number rises again (to the clock, 30 h later).
        clock.Advance(TimeSpan.FromMinutes(1));
        var after = Parse(authority.TrustBundle.ToSpiffeBundleJson());
        var ended = clock.GetUtcNow().ToUnixTimeSeconds();
        Assert.Equal(ended, after.GetProperty("spiffe_sequence").GetInt64());
        Assert.Equal(next.RootCertificate.RawData, Certificate(Assert.Single(after.GetProperty("keys").EnumerateArray())));

        // A rotation with no overlap still makes a new revision.
        authority.Rotate(CertificateAuthority.CreateSelfSigned(timeProvider: clock), TimeSpan.Zero);
        Assert.Equal(ended + 1, authority.TrustBundle.SequenceNumber);
        Assert.Equal([start + 1, ended, ended + 1], published);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(long.MaxValue)]
    public void The_sequence_number_is_written_exactly(long sequence)
    {
        using var ca = CertificateAuthority.CreateSelfSigned(timeProvider: TestCa.Clock());
        var bundle = new TrustBundle([ca.RootCertificate], sequence);

        var json = Parse(bundle.ToSpiffeBundleJson());

        Assert.Equal(sequence, bundle.SequenceNumber);
        Assert.Equal((ulong)sequence, json.GetProperty("spiffe_sequence").GetUInt64());
    }

    [Fact]
    public void A_bundle_defaults_to_sequence_one_and_refuses_a_negative_one()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(timeProvider: TestCa.Clock());

        Assert.Equal(1, new TrustBundle([ca.RootCertificate]).SequenceNumber);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrustBundle([ca.RootCertificate], -1));
    }

    [Fact]
    public void The_refresh_hint_is_written_in_seconds_only_when_given()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(timeProvider: TestCa.Clock());
        var bundle = new TrustBundle([ca.RootCertificate], 7);

        var withHint = Parse(bundle.ToSpiffeBundleJson(TimeSpan.FromMinutes(5)));
        var without = Parse(bundle.ToSpiffeBundleJson());

        Assert.Equal(["keys", "spiffe_refresh_hint", "spiffe_sequence"], PropertyNames(withHint));
        Assert.Equal(300, withHint.GetProperty("spiffe_refresh_hint").GetInt64());
        Assert.Equal(["keys", "spiffe_sequence"], PropertyNames(without));
        Assert.Equal(7, without.GetProperty("spiffe_sequence").GetInt64());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(15_000_000L)] // 1.5 s
    [InlineData(1L)] // one tick
    public void A_refresh_hint_that_is_not_a_positive_whole_number_of_seconds_is_refused(long ticks)
    {
        using var ca = CertificateAuthority.CreateSelfSigned(timeProvider: TestCa.Clock());
        var bundle = new TrustBundle([ca.RootCertificate]);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => bundle.ToSpiffeBundleJson(TimeSpan.FromTicks(ticks)));

        Assert.Equal("refreshHint", error.ParamName);
    }
}
