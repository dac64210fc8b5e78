using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca.Internal;

/// <summary>Chain building as a relying party of this CA does it: trust only the given roots, no revocation
/// check (short-lived certificates), at a given time.</summary>
internal static class Chains
{
    /// <summary>Builds the chain of <paramref name="leaf"/>; returns null when it chains to one of
    /// <paramref name="roots"/> at <paramref name="at"/>, otherwise the chain's problems.</summary>
    public static X509ChainStatus[]? Problems(X509Certificate2 leaf, IEnumerable<X509Certificate2> roots,
        IEnumerable<X509Certificate2> intermediates, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots.ToArray());
        chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        return chain.Build(leaf) ? null : chain.ChainStatus;
    }
}
