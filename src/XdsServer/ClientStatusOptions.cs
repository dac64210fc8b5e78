using Microsoft.AspNetCore.Http;

namespace XdsServer;

/// <summary>
/// Options of CSDS (<c>envoy.service.status.v3.ClientStatusDiscoveryService</c>), the operator API that reports what
/// every connected proxy was sent and whether it ACKed it. It is mapped only by <c>MapClientStatus()</c>; sensitive
/// resources (<see cref="Cache.ResourceType.Sensitive"/>) are reported by name, version and ACK/NACK state, never
/// with their payload.
/// </summary>
public sealed class ClientStatusOptions
{
    /// <summary>
    /// Decides whether a caller may read CSDS: returns null to allow, or the reason for refusing (sent back with
    /// PERMISSION_DENIED). Default <see cref="LoopbackOnly"/>: only processes on this machine (whatever
    /// <see cref="XdsServerOptions.LoopbackIsConfidential"/> says). Replace it with a check
    /// of a client certificate, a token, or an ASP.NET Core authorization policy on the endpoint
    /// (<c>MapClientStatus().RequireAuthorization(...)</c>, which runs before this hook).
    /// </summary>
    public Func<HttpContext, CancellationToken, ValueTask<string?>> Authorize { get; set; } = LoopbackOnly;

    /// <summary>Largest answer, in bytes of the encoded response; a request whose answer would be larger is refused
    /// with RESOURCE_EXHAUSTED (narrow it with node matchers). Default 16 MiB.</summary>
    public int MaxResponseBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Most node matchers one request may carry. Default 16.</summary>
    public int MaxNodeMatchers { get; set; } = 16;

    /// <summary>Longest <c>safe_regex</c> pattern a node matcher may carry, in characters. Regexes run on .NET's
    /// non-backtracking engine, so their cost is linear in the node id's length. Default 1,024.</summary>
    public int MaxRegexLength { get; set; } = 1024;

    /// <summary>The default <see cref="Authorize"/>: allows local callers only — loopback at both ends of the
    /// connection, or a Unix domain socket (<see cref="TransportSecurity.IsLoopback"/>).</summary>
    /// <param name="context">The call's HTTP context.</param>
    /// <param name="cancellationToken">Not used.</param>
    /// <returns>Null for a loopback caller, else the reason for refusing.</returns>
    public static ValueTask<string?> LoopbackOnly(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult(TransportSecurity.IsLoopback(context)
            ? null
            : "CSDS answers loopback callers only (ClientStatusOptions.Authorize)");
    }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Authorize, nameof(Authorize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxResponseBytes, 1024, nameof(MaxResponseBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNodeMatchers, 1, nameof(MaxNodeMatchers));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRegexLength, 1, nameof(MaxRegexLength));
    }
}
