using Microsoft.Extensions.Options;

namespace XdsServer;

/// <summary>Options of the xDS server, validated when the host starts.</summary>
public sealed class XdsServerOptions
{
    /// <summary>Largest request message accepted, in bytes; a larger one ends the stream with
    /// RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest response message, in bytes. Default 64 MiB.</summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// Most response bytes all streams together may be writing at once; a stream whose response does not fit
    /// waits its turn. This bounds the memory of a burst (thousands of proxies connecting at once, a change of
    /// every resource) to about this much plus what slow clients hold: a write the client has not taken within
    /// a second stops counting. A response larger than this goes alone. Default 64 MiB; at least 1 KiB.
    /// </summary>
    public long MaxResponseBytesInFlight { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most resource names one request may carry (subscribe plus unsubscribe). Default 100,000.</summary>
    public int MaxResourceNamesPerRequest { get; set; } = 100_000;

    /// <summary>Longest resource name accepted, in characters. Default 4,096.</summary>
    public int MaxResourceNameLength { get; set; } = 4096;

    /// <summary>Requests a stream may have read but not yet processed before the server stops reading
    /// (back-pressure on a client that sends faster than it is served). Default 16.</summary>
    public int MaxQueuedRequestsPerStream { get; set; } = 16;

    /// <summary>Order pushes over ADS so that nothing is referenced before it is sent and nothing is removed
    /// while still referenced ("make before break"). Default true.</summary>
    public bool MakeBeforeBreak { get; set; } = true;

    /// <summary>Map the REST fetch endpoints (<c>POST /v3/discovery:&lt;type&gt;</c>) in
    /// <c>MapXdsServer</c>. Default true.</summary>
    public bool EnableRestFetch { get; set; } = true;

    /// <summary>
    /// Send sensitive resources (secrets: private keys) and accept bearer tokens over cleartext connections from
    /// other machines. Default false: such a stream or fetch is refused with PERMISSION_DENIED, and a bearer token
    /// proves nothing, unless the connection is TLS or (with <see cref="LoopbackIsConfidential"/>) local. Turn it
    /// on only where something else encrypts the path (a service-mesh sidecar, an IPsec tunnel); the server logs a
    /// warning at start when it is on.
    /// </summary>
    public bool AllowInsecureTransport { get; set; }

    /// <summary>
    /// Count local cleartext connections — loopback at both ends (127.0.0.0/8, ::1) or a Unix domain socket — as
    /// confidential (<see cref="TransportSecurity.IsLoopback"/>). Default true: only processes on this machine can
    /// make them. Turn it off where other tenants share the loopback interface (the
    /// containers of one Kubernetes pod share it).
    /// </summary>
    public bool LoopbackIsConfidential { get; set; } = true;

    /// <summary>
    /// How often a stream authorized by a revocable credential (<see cref="NodeAuthorization.Recheck"/>) is
    /// authorized again; a refusal then ends it with UNAUTHENTICATED. Streams also end when their credential
    /// expires (<see cref="NodeAuthorization.ValidUntil"/>). Each stream waits this long ± 10 % (so that streams
    /// opened together are not re-checked together). Default 5 minutes; between 10 milliseconds and 1 day.
    /// </summary>
    public TimeSpan ReauthorizationInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Checks <see cref="XdsServerOptions"/> at start, with messages that name the setting.</summary>
internal sealed class XdsServerOptionsValidator(CacheRoutes routes) : IValidateOptions<XdsServerOptions>
{
    public ValidateOptionsResult Validate(string? name, XdsServerOptions options)
    {
        var failures = new List<string>();
        if (routes.Default is null && routes.ByType.Count == 0)
        {
            failures.Add("The xDS server has no cache: call AddSnapshotCache(), AddLinearCache(type) or AddCache<T>() on the builder AddXdsServer returns.");
        }

        if (options.MaxRequestBytes < 1024)
        {
            failures.Add($"XdsServerOptions.MaxRequestBytes must be at least 1024 bytes (was {options.MaxRequestBytes}).");
        }

        if (options.MaxResponseBytes < 1024)
        {
            failures.Add($"XdsServerOptions.MaxResponseBytes must be at least 1024 bytes (was {options.MaxResponseBytes}).");
        }

        if (options.MaxResponseBytesInFlight < 1024)
        {
            failures.Add($"XdsServerOptions.MaxResponseBytesInFlight must be at least 1024 bytes (was {options.MaxResponseBytesInFlight}).");
        }

        if (options.MaxResourceNamesPerRequest < 1)
        {
            failures.Add($"XdsServerOptions.MaxResourceNamesPerRequest must be positive (was {options.MaxResourceNamesPerRequest}).");
        }

        if (options.MaxResourceNameLength < 1)
        {
            failures.Add($"XdsServerOptions.MaxResourceNameLength must be positive (was {options.MaxResourceNameLength}).");
        }

        if (options.MaxQueuedRequestsPerStream < 1)
        {
            failures.Add($"XdsServerOptions.MaxQueuedRequestsPerStream must be positive (was {options.MaxQueuedRequestsPerStream}).");
        }

        if (options.ReauthorizationInterval < TimeSpan.FromMilliseconds(10) || options.ReauthorizationInterval > TimeSpan.FromDays(1))
        {
            failures.Add($"XdsServerOptions.ReauthorizationInterval must be between 10 ms and 1 day (was {options.ReauthorizationInterval}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
