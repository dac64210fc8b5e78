using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>Shared keys (RSA generation is slow), CSR builders and a chain verifier.</summary>
internal static class TestCa
{
    public static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly Lazy<RSA> Rsa2048 = new(() => RSA.Create(2048));

    public static readonly Lazy<RSA> Rsa1024 = new(() => RSA.Create(1024));

    public static FakeTimeProvider Clock() => new(Start);

    public static string Csr(AsymmetricAlgorithm key, string commonName = "workload", string? sanUri = null)
    {
        var subject = new X500DistinguishedName("CN=" + commonName);
        var request = key switch
        {
            ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("Unsupported key type.", nameof(key)),
        };
        if (sanUri is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri(sanUri));
            request.CertificateExtensions.Add(san.Build());
        }
        return request.CreateSigningRequestPem();
    }

    public static X509Certificate2 Load(string pem) => X509Certificate2.CreateFromPem(pem);

    /// <summary>Builds the chain as a relying party would: trust only the given root, no revocation.</summary>
    public static X509Chain Verify(IReadOnlyList<string> chainPem, DateTimeOffset at, string? rootPem = null)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.CustomTrustStore.Add(Load(rootPem ?? chainPem[^1]));
        foreach (var pem in chainPem.Skip(1).Take(chainPem.Count - 2))
        {
            chain.ChainPolicy.ExtraStore.Add(Load(pem));
        }
        var ok = chain.Build(Load(chainPem[0]));
        Assert.True(ok, string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation}")));
        return chain;
    }

    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "xds-ca-tests-" + Guid.NewGuid().ToString("N"));
        return path;
    }
}
