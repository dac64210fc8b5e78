using Microsoft.AspNetCore.Http;

namespace XdsServer;

/// <summary>
/// Options of the status page (<c>app.MapXdsStatusPage()</c>): who may read it, its title, and how much push history
/// it keeps (a fixed number of time buckets, so its memory is bounded however long the host runs).
/// </summary>
public sealed class XdsStatusPageOptions
{
    /// <summary>The page's title and first heading. Default "xDS server".</summary>
    public string Title { get; set; } = "xDS server";

    /// <summary>
    /// Decides whether a caller may read the page: returns null to allow, or the reason for refusing (sent back with
    /// 403 and nothing else). Default <see cref="LoopbackOnly"/>. The page tells who runs what where (node ids,
    /// addresses, versions), so widen it only by replacing this hook with a real check (a client certificate, a token).
    /// An ASP.NET Core authorization policy on the endpoint (<c>.RequireAuthorization(...)</c>) runs before this hook
    /// and can only narrow who gets in: a caller it admits is still refused by the default hook.
    /// </summary>
    public Func<HttpContext, CancellationToken, ValueTask<string?>> Authorize { get; set; } = LoopbackOnly;

    /// <summary>The width of one bucket of push history (responses sent, push latency). Default 10 seconds.</summary>
    public TimeSpan PushHistoryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many buckets of push history are kept and drawn. Default 90 (15 minutes at 10 seconds).</summary>
    public int PushHistoryLength { get; set; } = 90;

    /// <summary>The most rows one table shows (proxies, per-type state); the rest is counted in a note and is in
    /// <c>/debug/syncz</c>. Default 500.</summary>
    public int MaxTableRows { get; set; } = 500;

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
            : "the status page answers callers on this machine only (loopback; XdsStatusPageOptions.Authorize)");
    }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Authorize, nameof(Authorize));
        ArgumentException.ThrowIfNullOrWhiteSpace(Title, nameof(Title));
        ArgumentOutOfRangeException.ThrowIfLessThan(PushHistoryInterval, TimeSpan.FromSeconds(1), nameof(PushHistoryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(PushHistoryLength, 2, nameof(PushHistoryLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PushHistoryLength, 10_000, nameof(PushHistoryLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTableRows, 1, nameof(MaxTableRows));
    }
}
