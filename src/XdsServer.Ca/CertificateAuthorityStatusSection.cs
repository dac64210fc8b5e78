using System.Globalization;

namespace XdsServer.Ca;

/// <summary>
/// The "Certificate authority" section of the status page (<c>app.MapXdsStatusPage()</c>), registered by
/// <c>AddCertificateAuthority</c>: the trust domain, the root (subject, expiry), the signing certificate when it is an
/// intermediate, the roots still trusted during a rotation's overlap, and — with <c>AddWorkloadSecrets</c> — the
/// identities held and renewed, each with its certificate's expiry. No key and no PEM; it does name where the root is kept (a folder path)
/// and the text of a failed renewal, which is why the page answers local callers unless its hook says otherwise.
/// </summary>
internal sealed class CertificateAuthorityStatusSection(RotatingCertificateAuthority authority, CertificateAuthorityHostOptions options,
    TimeProvider time, IServiceProvider services) : IXdsStatusSection
{
    public string Title => "Certificate authority";

    public ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var now = time.GetUtcNow();
        var current = authority.Current;
        var root = current.RootCertificate;
        var facts = new List<KeyValuePair<string, string>>
        {
            new("trust domain", options.Authority.TrustDomain),
            new("root", root.Subject),
            new("root valid until", Until(new DateTimeOffset(root.NotAfter.ToUniversalTime()), now)),
            new("root kept in", options.Folder ?? "memory (self-signed; a restart makes a new root)"),
        };
        if (!ReferenceEquals(current.SigningCertificate, root) && current.SigningCertificate.Subject != root.Subject)
        {
            facts.Add(new("signing certificate", current.SigningCertificate.Subject));
            facts.Add(new("signing certificate valid until", Until(new DateTimeOffset(current.SigningCertificate.NotAfter.ToUniversalTime()), now)));
        }

        var bundle = authority.TrustBundle;
        facts.Add(new("trust bundle", $"{bundle.Roots.Count} root(s), sequence {bundle.SequenceNumber.ToString(CultureInfo.InvariantCulture)}"));
        var retiring = authority.RetiringRoots;
        facts.Add(new("rotation overlap", retiring.Count == 0
            ? "none"
            : string.Join("; ", retiring.Select(r => $"previous root {r.Root.Subject} trusted until {Time(r.Until)}"))));

        var rotator = services.GetService(typeof(WorkloadCertificateRotator)) as WorkloadCertificateRotator;
        if (rotator is not null)
        {
            var health = rotator.Health;
            facts.Add(new("identities held", health.HeldIdentities.ToString(CultureInfo.InvariantCulture)));
            facts.Add(new("identities failing to renew", health.FailingIdentities.ToString(CultureInfo.InvariantCulture)));
            if (health.LastFailureMessage is { } failure)
            {
                facts.Add(new("last renewal failure", $"{health.LastFailureIdentity}: {failure}"));
            }
        }

        writer.Facts(facts);
        if (rotator is not null)
        {
            var rows = rotator.Identities.OrderBy(i => i.ToString(), StringComparer.Ordinal).Select(identity =>
            {
                var credential = rotator.Get(identity);
                return (IReadOnlyList<string>)
                [
                    identity.ToString(),
                    credential is null ? "(not issued yet)" : Until(credential.Certificate.NotAfter, now),
                ];
            });
            writer.Table(["workload identity", "certificate valid until"], rows);
        }

        return ValueTask.CompletedTask;
    }

    private static string Until(DateTimeOffset at, DateTimeOffset now)
    {
        var left = at - now;
        var span = left.TotalDays >= 2 ? $"{left.TotalDays.ToString("0", CultureInfo.InvariantCulture)} days"
            : left.TotalHours >= 2 ? $"{left.TotalHours.ToString("0", CultureInfo.InvariantCulture)} hours"
            : $"{Math.Max(0, left.TotalMinutes).ToString("0", CultureInfo.InvariantCulture)} minutes";
        return left <= TimeSpan.Zero ? $"{Time(at)} (expired)" : $"{Time(at)} (in {span})";
    }

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
