namespace XdsServer.Ca.Internal;

/// <summary>When an authority's chain stops being able to sign: no issued certificate outlives it.</summary>
internal static class AuthorityChain
{
    /// <summary>The earliest NotAfter of the signing certificate, the intermediates and the root.</summary>
    public static DateTimeOffset End(CertificateAuthority authority) =>
        authority.CertificateChain.Min(c => new DateTimeOffset(c.NotAfter.ToUniversalTime()));
}
