using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca.Internal;

/// <summary>Chain building as a relying party of this CA does it: trust only the given roots, never fetch a
/// certificate from the network (a certificate's authorityInfoAccess URLs are the presenter's to choose, so
/// following them would let a caller make this process open connections), no revocation check (short-lived
/// certificates), at a given time.</summary>
internal static class Chains
{
    /// <summary>Builds the chain of <paramref name="leaf"/>; returns null when it chains to one of
    /// <paramref name="roots"/> at <paramref name="at"/>, otherwise the chain's problems.</summary>
    public static X509ChainStatus[]? Problems(X509Certificate2 leaf, IEnumerable<X509Certificate2> roots,
        IEnumerable<X509Certificate2> intermediates, DateTimeOffset at) => Problems(leaf, roots, intermediates, at, out _);

    /// <summary>As <see cref="Problems(X509Certificate2, IEnumerable{X509Certificate2}, IEnumerable{X509Certificate2}, DateTimeOffset)"/>;
    /// when the chain is good, <paramref name="validUntil"/> is the earliest NotAfter of its certificates (leaf,
    /// intermediates, root): the moment the chain stops verifying.</summary>
    public static X509ChainStatus[]? Problems(X509Certificate2 leaf, IEnumerable<X509Certificate2> roots,
        IEnumerable<X509Certificate2> intermediates, DateTimeOffset at, out DateTimeOffset validUntil)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots.ToArray());
        chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        if (!chain.Build(leaf))
        {
            validUntil = default;
            return chain.ChainStatus;
        }
        validUntil = DateTimeOffset.MaxValue;
        foreach (var element in chain.ChainElements)
        {
            var notAfter = new DateTimeOffset(element.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (notAfter < validUntil)
            {
                validUntil = notAfter;
            }
        }
        return null;
    }
}
