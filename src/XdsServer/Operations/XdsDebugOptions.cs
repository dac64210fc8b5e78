using Microsoft.AspNetCore.Http;

namespace XdsServer;

/// <summary>
/// Options of the JSON debug endpoints (<c>app.MapXdsDebug()</c>: <c>/debug/syncz</c> and
/// <c>/debug/config_dump?proxyID=</c>): who may read them.
/// </summary>
public sealed class XdsDebugOptions
{
    /// <summary>
    /// Decides whether a caller may read the debug endpoints: returns null to allow, or the reason for refusing (sent
    /// back with 403 and nothing else). Default <see cref="LoopbackOnly"/>. A config dump shows a proxy's whole
    /// configuration (secrets and fields the API marks sensitive are redacted), so widen it only with a real check.
    /// </summary>
    public Func<HttpContext, CancellationToken, ValueTask<string?>> Authorize { get; set; } = LoopbackOnly;

    /// <summary>The default <see cref="Authorize"/>: allows local callers only — both ends of the connection on
    /// loopback, or a Unix domain socket (<see cref="TransportSecurity.IsLoopback"/>).</summary>
    /// <param name="context">The request.</param>
    /// <param name="cancellationToken">Not used.</param>
    /// <returns>Null for a local caller, else the reason for refusing.</returns>
    public static ValueTask<string?> LoopbackOnly(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult(TransportSecurity.IsLoopback(context)
            ? null
            : "the debug endpoints answer callers on this machine only (loopback; XdsDebugOptions.Authorize)");
    }

    internal void Validate() => ArgumentNullException.ThrowIfNull(Authorize, nameof(Authorize));
}
