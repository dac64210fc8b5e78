using System.Security.Cryptography.X509Certificates;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>
/// The root certificates a workload trusts: one root normally, two while a root rotation overlaps (the new root
/// first). Immutable; a change of roots is a new bundle.
/// </summary>
public sealed class TrustBundle
{
    /// <summary>Creates a bundle of <paramref name="roots"/> (duplicates by content are dropped, order kept).</summary>
    /// <param name="roots">The roots, newest first.</param>
    /// <param name="sequenceNumber">The bundle's revision (see <see cref="SequenceNumber"/>); zero or more.</param>
    /// <exception cref="ArgumentException">No roots were given.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequenceNumber"/> is negative.</exception>
    public TrustBundle(IEnumerable<X509Certificate2> roots, long sequenceNumber = 1)
    {
        ArgumentNullException.ThrowIfNull(roots);
        // SPIFFE's spiffe_sequence is an unsigned 64-bit integer; a long covers it up to long.MaxValue.
        ArgumentOutOfRangeException.ThrowIfNegative(sequenceNumber);
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
        SequenceNumber = sequenceNumber;
    }

    /// <summary>
    /// The bundle's revision, published as SPIFFE's <c>spiffe_sequence</c>: whoever builds a changed bundle gives
    /// it a larger number (SPIFFE Trust Domain and Bundle 4.1.1: monotonically increasing, changed whenever the
    /// contents change). <see cref="RotatingCertificateAuthority"/> starts at 1 and adds 1 per change.
    /// </summary>
    public long SequenceNumber { get; }

    /// <summary>The roots, newest first.</summary>
    public IReadOnlyList<X509Certificate2> Roots { get; }

    /// <summary><see cref="Roots"/> as PEM, one certificate per entry.</summary>
    public IReadOnlyList<string> RootPems { get; }

    /// <summary>All roots as one PEM text (what Envoy's <c>trusted_ca</c> takes).</summary>
    public string Pem { get; }

    /// <summary>
    /// The bundle in the SPIFFE bundle format (SPIFFE Trust Domain and Bundle 4; X509-SVID 6.1), as a bundle
    /// endpoint serves it: a JWK Set with <c>spiffe_sequence</c> = <see cref="SequenceNumber"/>,
    /// <c>spiffe_refresh_hint</c> when <paramref name="refreshHint"/> is given, and one <c>keys</c> entry per root in
    /// <see cref="Roots"/> order (newest first). Each entry has <c>"use": "x509-svid"</c>, no <c>kid</c>, an
    /// <c>x5c</c> holding exactly the root's DER in standard base64, and the root's public key per RFC 7518 6:
    /// <c>kty</c> <c>EC</c> with <c>crv</c> (<c>P-256</c>, <c>P-384</c> or <c>P-521</c>), <c>x</c> and <c>y</c>, or
    /// <c>kty</c> <c>RSA</c> with <c>n</c> and <c>e</c>.
    /// </summary>
    /// <param name="refreshHint">How often consumers should fetch the bundle again: a positive whole number of
    /// seconds; <see langword="null"/> to leave <c>spiffe_refresh_hint</c> out.</param>
    /// <returns>The JSON text (UTF-8 when written out; serve it as <c>application/json</c>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="refreshHint"/> is zero, negative or not a whole
    /// number of seconds.</exception>
    /// <exception cref="NotSupportedException">A root has a key other than ECDSA on P-256, P-384 or P-521, or RSA.
    /// No root is ever left out: a bundle missing a root would make consumers reject every SVID under it, so the
    /// whole bundle is refused instead.</exception>
    public string ToSpiffeBundleJson(TimeSpan? refreshHint = null)
    {
        long? seconds = null;
        if (refreshHint is { } hint)
        {
            if (hint <= TimeSpan.Zero || hint.Ticks % TimeSpan.TicksPerSecond != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(refreshHint), hint, "The refresh hint must be a positive whole number of seconds.");
            }
            seconds = hint.Ticks / TimeSpan.TicksPerSecond;
        }
        return SpiffeBundleWriter.Write(Roots, SequenceNumber, seconds);
    }

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
            return Chains.Problems(loaded[0], Roots, loaded.Skip(1), at) is null;
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
