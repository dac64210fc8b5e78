using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using XdsServer.Ca;

namespace XdsServer.Benchmarks;

/// <summary>
/// The CA's cost per workload certificate. One operation is <c>issuer.Issue(csrPem, identity, lifetime)</c> on a
/// PKCS#10 PEM made in setup (key generation and CSR creation are not measured): decoding the PEM, parsing the
/// request, checking its key, verifying its self-signature, building the X.509-SVID's extensions, signing it
/// with the CA key and exporting it as PEM. Parameters: the CA's key and the CSR's key, each ECDSA P-256
/// (<see cref="CertificateKeyAlgorithm.EcdsaP256"/>) or RSA-2048 (<see cref="CertificateKeyAlgorithm.Rsa"/>).
/// A second method issues on every core at once (the CA signs concurrent calls in parallel, holding its key's lock
/// only while signing). Signings per second (1 s / Mean) are worked out in RESULTS.md. Setup checks the issued
/// certificate carries the CSR's key and the identity and chains to the CA's root.
/// </summary>
public class CsrSigningBenchmarks : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly SpiffeId _identity = SpiffeId.ForIstio("cluster.local", "default", "bench");
    private CertificateAuthority _authority = null!;
    private WorkloadCertificateIssuer _issuer = null!;
    private string _csrPem = null!;

    /// <summary>The CA's key.</summary>
    [Params(CertificateKeyAlgorithm.EcdsaP256, CertificateKeyAlgorithm.Rsa)]
    public CertificateKeyAlgorithm CaKey { get; set; }

    /// <summary>The key in the workload's CSR.</summary>
    [Params(CertificateKeyAlgorithm.EcdsaP256, CertificateKeyAlgorithm.Rsa)]
    public CertificateKeyAlgorithm CsrKey { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _authority = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { KeyAlgorithm = CaKey, RsaKeySize = 2048 });
        _issuer = new WorkloadCertificateIssuer(_authority);
        _csrPem = CreateCsr(CsrKey);
        Check(_issuer.Issue(_csrPem, _identity, Lifetime));
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _authority?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The result is a record of strings; the leaf certificate object is disposed inside <c>Issue</c>.</summary>
    [Benchmark(Description = "Issue(CSR PEM): parse, verify, sign")]
    public WorkloadCertificate Issue() => _issuer.Issue(_csrPem, _identity, Lifetime);

    /// <summary>Throughput on every core, as the gRPC service runs concurrent calls: <see cref="ParallelBatch"/>
    /// issues split over <see cref="Environment.ProcessorCount"/> workers; Mean is per issue.</summary>
    [Benchmark(Description = "Issue on all cores (per issue)", OperationsPerInvoke = ParallelBatch)]
    public void IssueOnAllCores() =>
        Parallel.For(0, ParallelBatch, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            _ => _issuer.Issue(_csrPem, _identity, Lifetime));

    /// <summary>Issues per parallel invocation.</summary>
    public const int ParallelBatch = 256;

    private static string CreateCsr(CertificateKeyAlgorithm algorithm)
    {
        var subject = new X500DistinguishedName("CN=bench");
        switch (algorithm)
        {
            case CertificateKeyAlgorithm.EcdsaP256:
                using (var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    return new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256).CreateSigningRequestPem();
                }
            case CertificateKeyAlgorithm.Rsa:
                using (var rsa = RSA.Create(2048))
                {
                    return new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Only ECDSA P-256 and RSA-2048 CSRs are benchmarked.");
        }
    }

    private void Check(WorkloadCertificate issued)
    {
        using var leaf = X509Certificate2.CreateFromPem(issued.CertificatePem);
        using var ecdsa = leaf.GetECDsaPublicKey();
        using var rsa = leaf.GetRSAPublicKey();
        var keyMatches = CsrKey == CertificateKeyAlgorithm.EcdsaP256 ? ecdsa is not null : rsa is { KeySize: 2048 };
        var uri = leaf.GetNameInfo(X509NameType.UrlName, forIssuer: false);
        if (!keyMatches || uri != _identity.ToString())
        {
            throw new InvalidOperationException($"The certificate should carry the CSR's {CsrKey} key and URI SAN {_identity}; it has key {leaf.PublicKey.Oid.FriendlyName} and SAN {uri}.");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(_authority.RootCertificate);
        if (!chain.Build(leaf))
        {
            throw new InvalidOperationException("The certificate does not chain to the CA's root: "
                + string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}")));
        }
    }
}
