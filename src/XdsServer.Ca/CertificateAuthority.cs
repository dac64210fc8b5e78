using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>
/// The signing material of the mesh CA: a signing certificate and its key, and the chain from it to the
/// root workloads trust. Either a self-signed root created here, or a plugged-in root or intermediate read
/// from a folder in Istio's <c>cacerts</c> layout (see <see cref="CaCertsFolder"/>).
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    private CertificateAuthority(AsymmetricAlgorithm key, X509Certificate2 signingCertificate, IReadOnlyList<X509Certificate2> chain)
    {
        _key = key;
        SigningCertificate = signingCertificate;
        CertificateChain = chain;
        RootCertificate = chain[^1];
        CertificateChainPem = chain.Select(c => c.ExportCertificatePem()).ToArray();
        (SignatureGenerator, SigningHash) = key switch
        {
            ECDsa ecdsa => (X509SignatureGenerator.CreateForECDsa(ecdsa), ecdsa.KeySize switch
            {
                <= 256 => HashAlgorithmName.SHA256,
                <= 384 => HashAlgorithmName.SHA384,
                _ => HashAlgorithmName.SHA512,
            }),
            RSA rsa => (X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256),
            _ => throw new NotSupportedException($"CA key type {key.GetType().Name} is not supported."),
        };
        var keyIdentifier = signingCertificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()
            ?? new X509SubjectKeyIdentifierExtension(signingCertificate.PublicKey, critical: false);
        SigningKeyIdentifier = keyIdentifier.SubjectKeyIdentifierBytes.ToArray();
    }

    /// <summary>The certificate that signs workload certificates (the root itself when self-signed).</summary>
    public X509Certificate2 SigningCertificate { get; }

    /// <summary>The root at the end of the chain: the trust anchor workloads are given.</summary>
    public X509Certificate2 RootCertificate { get; }

    /// <summary>The signing certificate, any intermediates, then the root.</summary>
    public IReadOnlyList<X509Certificate2> CertificateChain { get; }

    /// <summary><see cref="CertificateChain"/> as PEM, one certificate per entry.</summary>
    public IReadOnlyList<string> CertificateChainPem { get; }

    /// <summary>The root certificate as PEM.</summary>
    public string RootCertificatePem => CertificateChainPem[^1];

    internal X509SignatureGenerator SignatureGenerator { get; }

    internal HashAlgorithmName SigningHash { get; }

    internal ReadOnlyMemory<byte> SigningKeyIdentifier { get; }

    /// <summary>Guards the signing key: the .NET key types do not promise concurrent use.</summary>
    internal Lock SigningLock { get; } = new();

    /// <summary>Creates a new self-signed root (in memory; see <see cref="SaveToFolder"/>).</summary>
    public static CertificateAuthority CreateSelfSigned(CertificateAuthorityOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new CertificateAuthorityOptions();
        options.Validate();
        var now = Truncate((timeProvider ?? TimeProvider.System).GetUtcNow());

        AsymmetricAlgorithm key = options.KeyAlgorithm switch
        {
            CertificateKeyAlgorithm.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
            CertificateKeyAlgorithm.EcdsaP384 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
            _ => RSA.Create(options.RsaKeySize),
        };
        try
        {
            var name = new X500DistinguishedNameBuilder();
            name.AddOrganizationName(options.TrustDomain);
            name.AddCommonName("XdsServer Root CA");
            var root = BuildSelfSigned(key, name.Build(), now, now + options.RootLifetime);
            return new CertificateAuthority(key, root, [root]);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a renewed self-signed root with this root's key and subject, valid from now for
    /// <paramref name="lifetime"/>, as istiod renews its self-signed root: this authority is left unchanged.
    /// </summary>
    /// <remarks>
    /// <para>The new root has the same subject, the same key (hence the same subject key identifier) and the same
    /// CA extensions as <see cref="CreateSelfSigned"/> gives a root; only its serial number and validity differ. A
    /// certificate signed under either root therefore verifies against either root certificate: a peer that still
    /// trusts only the old root accepts certificates issued under the new one (until the old root's NotAfter), and
    /// certificates issued under the old root keep verifying against the new one. Keeping the key is what makes
    /// the renewal invisible to peers; replace the key with a new root (<see cref="CreateSelfSigned"/> and
    /// <see cref="RotatingCertificateAuthority.Rotate"/>) when the key itself must change.</para>
    /// <para>The returned authority holds its own copy of the key: disposing either authority leaves the other
    /// usable.</para>
    /// </remarks>
    /// <param name="lifetime">How long the renewed root is valid; positive.</param>
    /// <param name="timeProvider">The clock of NotBefore; the system clock when null.</param>
    /// <returns>The renewed authority (the caller owns it).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lifetime"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">This authority signs with an intermediate (a plugged-in CA), not
    /// with a self-signed root: such a root is renewed by whoever holds its key.</exception>
    public CertificateAuthority RenewSelfSigned(TimeSpan lifetime, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        if (CertificateChain.Count != 1
            || !SigningCertificate.SubjectName.RawData.AsSpan().SequenceEqual(SigningCertificate.IssuerName.RawData))
        {
            throw new InvalidOperationException(
                $"Only a self-signed root can be renewed here; this CA signs with {SigningCertificate.Subject}, issued by {SigningCertificate.Issuer}.");
        }
        var now = Truncate((timeProvider ?? TimeProvider.System).GetUtcNow());
        AsymmetricAlgorithm key = _key switch
        {
            ECDsa ecdsa => CopyEcdsa(ecdsa),
            RSA rsa => CopyRsa(rsa),
            _ => throw new NotSupportedException($"CA key type {_key.GetType().Name} is not supported."),
        };
        try
        {
            var subject = new X500DistinguishedName(SigningCertificate.SubjectName.RawData);
            var root = BuildSelfSigned(key, subject, now, now + lifetime);
            return new CertificateAuthority(key, root, [root]);
        }
        catch
        {
            key.Dispose();
            throw;
        }

        static ECDsa CopyEcdsa(ECDsa source)
        {
            var copy = ECDsa.Create();
            copy.ImportParameters(source.ExportParameters(includePrivateParameters: true));
            return copy;
        }

        static RSA CopyRsa(RSA source)
        {
            var copy = RSA.Create();
            copy.ImportParameters(source.ExportParameters(includePrivateParameters: true));
            return copy;
        }
    }

    /// <summary>
    /// Loads a plugged-in root or intermediate from <paramref name="folder"/>: <c>ca-cert.pem</c>, <c>ca-key.pem</c>,
    /// <c>root-cert.pem</c> and optionally <c>cert-chain.pem</c>. The key must match the certificate, the
    /// certificate must be a CA, and the chain must verify to the root now.
    /// </summary>
    /// <remarks>
    /// Temporary files left by an interrupted write of this package are deleted first. A folder missing only
    /// <c>ca-cert.pem</c> (and perhaps <c>cert-chain.pem</c>) whose <c>root-cert.pem</c> is self-signed and whose
    /// <c>ca-key.pem</c> is that root's key is a first start interrupted inside <see cref="SaveToFolder"/>: the
    /// missing files are written and a warning is logged. Any other missing file is an error. On Unix a warning is
    /// logged when <c>ca-key.pem</c> is readable by others than its owner.
    /// </remarks>
    /// <param name="folder">The <c>cacerts</c> folder.</param>
    /// <param name="timeProvider">The clock the chain is verified at; the system clock when null.</param>
    /// <param name="logger">Receives the warnings above; none when null.</param>
    /// <exception cref="InvalidDataException">A file is missing or its content is unusable; the message says which
    /// and what to do.</exception>
    public static CertificateAuthority LoadFromFolder(string folder, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        logger ??= NullLogger.Instance;
        CaCertsFolder.RemoveStaleTemporaryFiles(folder, logger);
        CaFolderCompleteness.Ensure(folder, logger);
        CaCertsFolder.WarnIfKeyIsNotOwnerOnly(folder, logger);

        var source = $"\"{folder}\"";
        var chainPath = Path.Combine(folder, CaCertsFolder.CertChainFile);
        return Load(
            CaCertsFolder.Read(folder, CaCertsFolder.CaCertFile),
            CaCertsFolder.Read(folder, CaCertsFolder.CaKeyFile),
            CaCertsFolder.Read(folder, CaCertsFolder.RootCertFile),
            File.Exists(chainPath) ? CaCertsFolder.Read(folder, CaCertsFolder.CertChainFile) : null,
            source, now);
    }

    /// <summary>
    /// Loads a CA from PEM texts keyed by the <c>cacerts</c> file names (<see cref="CaCertsFolder.CaCertFile"/>,
    /// <see cref="CaCertsFolder.CaKeyFile"/>, <see cref="CaCertsFolder.RootCertFile"/>,
    /// <see cref="CaCertsFolder.CertChainFile"/>), as a store other than a folder holds them (a Kubernetes Secret's
    /// data, for instance). The checks are those of <see cref="LoadFromFolder"/>: the key must match the
    /// certificate, the certificate must be a CA, and the chain must verify to the root now.
    /// </summary>
    /// <remarks><c>ca-cert.pem</c> and <c>ca-key.pem</c> are required. <c>root-cert.pem</c> may be absent or empty
    /// only when <c>ca-cert.pem</c> is a self-signed root (the shape of Istio's <c>istio-ca-secret</c>);
    /// <c>cert-chain.pem</c> is optional. Other keys are ignored.</remarks>
    /// <param name="files">File name → PEM text; an empty or blank text counts as absent.</param>
    /// <param name="source">What holds the texts, for messages (such as <c>Secret istio-system/cacerts</c>).</param>
    /// <param name="timeProvider">The clock the chain is verified at; the system clock when null.</param>
    /// <returns>The CA.</returns>
    /// <exception cref="InvalidDataException">A required text is missing or a text is unusable; the message names
    /// the source and the file name.</exception>
    public static CertificateAuthority LoadFromPem(IReadOnlyDictionary<string, string> files, string source, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentException.ThrowIfNullOrEmpty(source);
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        var caCert = Get(CaCertsFolder.CaCertFile) ?? throw new InvalidDataException($"{source} has no {CaCertsFolder.CaCertFile}.");
        var caKey = Get(CaCertsFolder.CaKeyFile) ?? throw new InvalidDataException($"{source} has no {CaCertsFolder.CaKeyFile}.");
        return Load(caCert, caKey, Get(CaCertsFolder.RootCertFile), Get(CaCertsFolder.CertChainFile), source, now);

        string? Get(string name) => files.TryGetValue(name, out var text) && !string.IsNullOrWhiteSpace(text) ? text : null;
    }

    /// <summary>
    /// Loads the CA from <paramref name="folder"/> when it holds one (see <see cref="LoadFromFolder"/>); when it
    /// holds none of the <c>cacerts</c> files, creates a self-signed root and saves it there (the first start).
    /// </summary>
    /// <remarks>A folder holding only temporary files of an interrupted write counts as empty: they are deleted
    /// and a new root is created, as nothing can trust a root whose certificate was never written.</remarks>
    /// <param name="folder">The <c>cacerts</c> folder; created owner-only when it does not exist.</param>
    /// <param name="options">The root to create; the defaults when null.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <param name="logger">Receives the warnings of <see cref="LoadFromFolder"/>; none when null.</param>
    /// <exception cref="InvalidDataException">The folder holds an incomplete or unusable CA; the message says
    /// which files and what to do.</exception>
    public static CertificateAuthority LoadOrCreate(string folder, CertificateAuthorityOptions? options = null, TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        logger ??= NullLogger.Instance;
        CaCertsFolder.RemoveStaleTemporaryFiles(folder, logger);
        if (CaCertsFolder.HasAny(folder))
        {
            return LoadFromFolder(folder, timeProvider, logger);
        }
        var authority = CreateSelfSigned(options, timeProvider);
        try
        {
            authority.SaveToFolder(folder);
            return authority;
        }
        catch
        {
            authority.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the CA in the <c>cacerts</c> layout: the folder, when created here, and the key are owner-only
    /// (0700 and 0600 on Unix); each file is flushed to disk under a temporary name and renamed into place (see
    /// <see cref="CaCertsFolder"/>). Refuses to overwrite an existing CA: replacing root material is a rotation,
    /// not a save.
    /// </summary>
    /// <param name="folder">The folder to write to.</param>
    /// <exception cref="IOException">The folder already holds CA files.</exception>
    public void SaveToFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        CaCertsFolder.CreateFolder(folder);
        if (CaCertsFolder.HasAny(folder))
        {
            throw new IOException($"CA folder \"{folder}\" already holds CA files; refusing to overwrite them.");
        }
        CaCertsFolder.Write(folder, CaCertsFolder.CaKeyFile, _key.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
        CaCertsFolder.Write(folder, CaCertsFolder.RootCertFile, RootCertificatePem + "\n", secret: false);
        CaCertsFolder.Write(folder, CaCertsFolder.CertChainFile, string.Join('\n', CertificateChainPem) + "\n", secret: false);
        // Written last: LoadOrCreate treats a folder with any CA file as an existing CA, and a folder lacking only
        // this one as a first start interrupted here (see CaFolderCompleteness).
        CaCertsFolder.Write(folder, CaCertsFolder.CaCertFile, CertificateChainPem[0] + "\n", secret: false);
    }

    /// <summary>
    /// The CA as PEM texts keyed by the <c>cacerts</c> file names, the content <see cref="SaveToFolder"/> writes:
    /// <c>ca-cert.pem</c>, <c>ca-key.pem</c> (PKCS#8), <c>root-cert.pem</c> and <c>cert-chain.pem</c>; what
    /// <see cref="LoadFromPem"/> reads back. It holds the signing key: store it only where the CA alone may read
    /// it, and never log it.
    /// </summary>
    /// <returns>File name → PEM text.</returns>
    public IReadOnlyDictionary<string, string> ExportPem() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CaCertsFolder.CaCertFile] = CertificateChainPem[0] + "\n",
        [CaCertsFolder.CaKeyFile] = _key.ExportPkcs8PrivateKeyPem() + "\n",
        [CaCertsFolder.RootCertFile] = RootCertificatePem + "\n",
        [CaCertsFolder.CertChainFile] = string.Join('\n', CertificateChainPem) + "\n",
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        _key.Dispose();
        foreach (var certificate in CertificateChain)
        {
            certificate.Dispose(); // the first is SigningCertificate
        }
    }

    /// <summary>A root certificate for <paramref name="key"/>: cA, keyCertSign and cRLSign, a subject key
    /// identifier, a random serial. Shared by creation and renewal, so a renewed root has the extensions a created
    /// one has.</summary>
    private static X509Certificate2 BuildSelfSigned(AsymmetricAlgorithm key, X500DistinguishedName subject, DateTimeOffset notBefore,
        DateTimeOffset notAfter)
    {
        var request = key switch
        {
            ECDsa ecdsa => new CertificateRequest(subject, ecdsa, ecdsa.KeySize > 256 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256),
            _ => new CertificateRequest(subject, (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        };
        // X.509-SVID 4.1: a signing certificate sets cA=true and keyCertSign; cRLSign is allowed.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        using var withKey = request.CreateSelfSigned(notBefore, notAfter);
        return X509CertificateLoader.LoadCertificate(withKey.RawData);
    }

    /// <summary>Certificates carry whole seconds; working in seconds keeps computed and encoded times equal.</summary>
    internal static DateTimeOffset Truncate(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    /// <summary>Builds and checks a CA from its PEM texts; <paramref name="rootPem"/> null means ca-cert.pem is the
    /// (self-signed) root.</summary>
    private static CertificateAuthority Load(string caCertPem, string caKeyPem, string? rootPem, string? chainPem, string source, DateTimeOffset now)
    {
        var signing = ReadCertificate(caCertPem, CaCertsFolder.CaCertFile, source);
        X509Certificate2 root;
        if (rootPem is null)
        {
            if (!signing.SubjectName.RawData.AsSpan().SequenceEqual(signing.IssuerName.RawData))
            {
                signing.Dispose();
                throw new InvalidDataException(
                    $"{source} has no {CaCertsFolder.RootCertFile}, and its {CaCertsFolder.CaCertFile} is not a self-signed root: add {CaCertsFolder.RootCertFile}.");
            }
            root = X509CertificateLoader.LoadCertificate(signing.RawData);
        }
        else
        {
            root = ReadCertificate(rootPem, CaCertsFolder.RootCertFile, source);
        }
        var chain = ReadChain(chainPem, source, signing, root);
        var key = ReadKey(caKeyPem, source, signing);
        try
        {
            CheckIsCa(signing);
            VerifyChain(chain, now);
            return new CertificateAuthority(key, signing, chain);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static X509Certificate2 ReadCertificate(string pem, string fileName, string source)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"{fileName} in {source} does not hold a PEM certificate: {ex.Message}", ex);
        }
    }

    /// <summary>cert-chain.pem runs from the signing certificate to the root; missing ends are added.</summary>
    private static List<X509Certificate2> ReadChain(string? chainPem, string source, X509Certificate2 signing, X509Certificate2 root)
    {
        var chain = new List<X509Certificate2>();
        if (chainPem is not null)
        {
            var collection = new X509Certificate2Collection();
            try
            {
                collection.ImportFromPem(chainPem);
            }
            catch (CryptographicException ex)
            {
                throw new InvalidDataException($"{CaCertsFolder.CertChainFile} in {source} does not hold PEM certificates: {ex.Message}", ex);
            }
            chain.AddRange(collection);
        }
        if (chain.Count == 0 || !chain[0].RawDataMemory.Span.SequenceEqual(signing.RawDataMemory.Span))
        {
            chain.Insert(0, signing);
        }
        else
        {
            chain[0].Dispose();
            chain[0] = signing;
        }
        if (!chain[^1].RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
        {
            chain.Add(root);
        }
        else if (chain.Count > 1)
        {
            chain[^1].Dispose();
            chain[^1] = root;
        }
        else
        {
            root.Dispose(); // self-signed: the signing certificate is the root
        }
        return chain;
    }

    private static AsymmetricAlgorithm ReadKey(string pem, string source, X509Certificate2 signing)
    {
        AsymmetricAlgorithm key = signing.PublicKey.Oid.Value switch
        {
            WellKnownOids.EcPublicKey => ECDsa.Create(),
            WellKnownOids.RsaEncryption => RSA.Create(),
            var other => throw new InvalidDataException($"{CaCertsFolder.CaCertFile} has a key of type {other}; only ECDSA and RSA are supported."),
        };
        try
        {
            key.ImportFromPem(pem);
            // CopyWithPrivateKey refuses a key that is not the certificate's.
            using var paired = key switch
            {
                ECDsa ecdsa => signing.CopyWithPrivateKey(ecdsa),
                _ => signing.CopyWithPrivateKey((RSA)key),
            };
            return key;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new InvalidDataException($"{CaCertsFolder.CaKeyFile} in {source} is not an unencrypted PEM private key matching {CaCertsFolder.CaCertFile}: {ex.Message}", ex);
        }
    }

    private static void CheckIsCa(X509Certificate2 signing)
    {
        var constraints = signing.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is null || !constraints.CertificateAuthority)
        {
            throw new InvalidDataException($"{CaCertsFolder.CaCertFile} is not a CA certificate (basicConstraints cA is not true).");
        }
        var usage = signing.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (usage is not null && (usage.KeyUsages & X509KeyUsageFlags.KeyCertSign) == 0)
        {
            throw new InvalidDataException($"{CaCertsFolder.CaCertFile} may not sign certificates (key usage lacks keyCertSign).");
        }
    }

    private static void VerifyChain(List<X509Certificate2> chain, DateTimeOffset now)
    {
        if (Chains.Problems(chain[0], [chain[^1]], chain.Take(chain.Count - 1).Skip(1), now) is { } statuses)
        {
            var problems = string.Join("; ", statuses.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"));
            throw new InvalidDataException($"{CaCertsFolder.CaCertFile} does not chain to {CaCertsFolder.RootCertFile} at {now:O}: {problems}");
        }
    }
}
