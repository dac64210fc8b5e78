using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>
/// Reports whether the CA can keep workloads supplied with certificates:
/// <list type="bullet">
/// <item><description>Unhealthy when the signing chain has expired: no certificate can be issued;</description></item>
/// <item><description>Degraded when renewals are failing (see <see cref="WorkloadCertificateRotator.Health"/>), or the chain
/// ends within <see cref="CertificateAuthorityHealthCheckOptions.ChainExpiryWarning"/> (by default twice the
/// workload <see cref="WorkloadCertificateOptions.MaxLifetime"/>);</description></item>
/// <item><description>Healthy otherwise.</description></item>
/// </list>
/// The description says why, and the data holds the chain's end and the rotator's counts; neither holds keys,
/// tokens or certificates. <c>AddCertificateAuthority</c> registers it as <c>certificate-authority</c>.
/// </summary>
public sealed class CertificateAuthorityHealthCheck : IHealthCheck
{
    /// <summary>The name <c>AddCertificateAuthority</c> registers the check under.</summary>
    public const string Name = "certificate-authority";

    private readonly RotatingCertificateAuthority _authority;
    private readonly WorkloadCertificateRotator? _rotator;
    private readonly TimeSpan? _chainExpiryWarning;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the check.</summary>
    /// <param name="authority">The CA whose signing chain is checked.</param>
    /// <param name="rotator">The rotator whose renewals are checked; null when there is none.</param>
    /// <param name="options">When to warn about the chain's end; null for the defaults.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public CertificateAuthorityHealthCheck(RotatingCertificateAuthority authority, WorkloadCertificateRotator? rotator = null,
        CertificateAuthorityHealthCheckOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        options?.Validate();
        _authority = authority;
        _rotator = rotator;
        _chainExpiryWarning = options?.ChainExpiryWarning;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    /// <summary>The result now (what <see cref="CheckHealthAsync"/> returns).</summary>
    public HealthCheckResult Check()
    {
        var now = _timeProvider.GetUtcNow();
        var chainEnd = AuthorityChain.End(_authority.Current);
        var warning = _chainExpiryWarning ?? _authority.Issuer.Options.MaxLifetime * 2;
        var rotation = _rotator?.Health;
        var data = new Dictionary<string, object> { ["chainEnd"] = chainEnd };
        if (rotation is not null)
        {
            data["heldIdentities"] = rotation.HeldIdentities;
            data["failingIdentities"] = rotation.FailingIdentities;
            data["consecutiveFailures"] = rotation.ConsecutiveFailures;
        }

        List<string> problems = [];
        // Certificates carry whole seconds; the issuer refuses once the chain ends at or before this second.
        var expired = chainEnd <= CertificateAuthority.Truncate(now);
        if (expired)
        {
            problems.Add(Format($"The CA signing chain expired at {chainEnd:O}; no workload certificate can be issued until the root is rotated."));
        }
        else if (chainEnd - now <= warning)
        {
            problems.Add(Format($"The CA signing chain ends at {chainEnd:O}, within {warning}; rotate the root."));
        }
        if (rotation is { FailingIdentities: > 0 })
        {
            problems.Add(Format($"{rotation.FailingIdentities} workload identity(ies) failing to renew ({rotation.ConsecutiveFailures} consecutive failure(s) at most); last failure for {rotation.LastFailureIdentity} at {rotation.LastFailureAt:O}: {rotation.LastFailureMessage}; next retry at {rotation.NextRetryAt:O}."));
        }

        if (expired)
        {
            return HealthCheckResult.Unhealthy(string.Join(' ', problems), data: data);
        }
        if (problems.Count > 0)
        {
            return HealthCheckResult.Degraded(string.Join(' ', problems), data: data);
        }
        var held = rotation is null ? "" : Format($"; {rotation.HeldIdentities} workload identity(ies) held, renewals on track");
        return HealthCheckResult.Healthy(Format($"The CA signs until {chainEnd:O}{held}."), data);
    }

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
