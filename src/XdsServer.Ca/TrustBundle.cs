using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca;

/// <summary>
/// The root certificates a workload trusts: one root normally, two while a root rotation overlaps (the new root
/// first). Immutable; a change of roots is a new bundle.
/// </summary>
public sealed class TrustBundle
{
    /// <summary>Creates a bundle of <paramref name="roots"/> (duplicates by content are dropped, order kept).</summary>
    /// <exception cref="ArgumentException">No roots were given.</exception>
    public TrustBundle(IEnumerable<X509Certificate2> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var list = new List<X509Certificate2>();
        foreach (var root in roots)
        {
            ArgumentNullException.ThrowIfNull(root, nameof(roots));
            if (!list.Exists(r => r.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span)))
            {
                // A private copy: the caller may dispose its certificate.
                list.Add(X509CertificateLoader.LoadCertificate(root.RawDataMemory.Span));
            }
        }
        if (list.Count == 0)
        {
            throw new ArgumentException("A trust bundle needs at least one root.", nameof(roots));
        }
        Roots = list;
        RootPems = list.Select(r => r.ExportCertificatePem()).ToArray();
        Pem = string.Join('\n', RootPems) + "\n";
    }

    /// <summary>The roots, newest first.</summary>
    public IReadOnlyList<X509Certificate2> Roots { get; }

    /// <summary><see cref="Roots"/> as PEM, one certificate per entry.</summary>
    public IReadOnlyList<string> RootPems { get; }

    /// <summary>All roots as one PEM text (what Envoy's <c>trusted_ca</c> takes).</summary>
    public string Pem { get; }

    /// <summary>True when <paramref name="root"/> (compared by content) is in the bundle.</summary>
    public bool Contains(X509Certificate2 root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return Roots.Any(r => r.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span));
    }

    /// <summary>
    /// True when <paramref name="chainPem"/> (leaf first; intermediates and a root may follow) chains to a root
    /// of this bundle at <paramref name="at"/>, with no revocation check.
    /// </summary>
    public bool Verifies(IReadOnlyList<string> chainPem, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(chainPem);
        if (chainPem.Count == 0)
        {
            return false;
        }
        var loaded = chainPem.Select(pem => X509Certificate2.CreateFromPem(pem)).ToList();
        try
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = at.UtcDateTime;
            chain.ChainPolicy.CustomTrustStore.AddRange(Roots.ToArray());
            chain.ChainPolicy.ExtraStore.AddRange(loaded.Skip(1).ToArray());
            return chain.Build(loaded[0]);
        }
        finally
        {
            foreach (var certificate in loaded)
            {
                certificate.Dispose();
            }
        }
    }
}
