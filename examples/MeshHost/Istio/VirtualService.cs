using System.Text.Json.Serialization;

namespace MeshHost.Istio;

/// <summary>networking.istio.io VirtualService <c>spec</c> (the HTTP part; <c>tcp</c> and <c>tls</c> routes are read
/// by whoever builds TCP/TLS listeners).</summary>
public sealed class VirtualServiceSpec
{
    /// <summary>The hosts the routes apply to: short names (relative to the VirtualService's namespace), FQDNs,
    /// wildcards (<c>*.example.com</c>).</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>The Gateways (<c>ns/name</c>, or a name in the VirtualService's namespace) and/or <c>mesh</c> (the
    /// sidecars); empty means <c>mesh</c>.</summary>
    public List<string> Gateways { get; set; } = [];

    /// <summary>The HTTP routes, tried in order.</summary>
    public List<HttpRoute> Http { get; set; } = [];

    /// <summary>Where the VirtualService is visible: empty or <c>*</c> = everywhere, <c>.</c> = its own namespace,
    /// <c>~</c> = nowhere, else namespace names.</summary>
    public List<string> ExportTo { get; set; } = [];
}

/// <summary>One HTTP route of a VirtualService.</summary>
public sealed class HttpRoute
{
    /// <summary>The route's name (Envoy's <c>route.name</c>, suffixed with <c>.&lt;match name&gt;</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The conditions, any of which selects the route; none matches everything.</summary>
    public List<HttpMatchRequest> Match { get; set; } = [];

    /// <summary>The weighted destinations.</summary>
    public List<HttpRouteDestination> Route { get; set; } = [];

    /// <summary>Answer with a redirect instead of forwarding.</summary>
    public HttpRedirect? Redirect { get; set; }

    /// <summary>Answer directly instead of forwarding.</summary>
    public HttpDirectResponse? DirectResponse { get; set; }

    /// <summary>Hand the route over to a delegate VirtualService (one without hosts), whose routes replace it.</summary>
    public DelegateReference? Delegate { get; set; }

    /// <summary>Rewrite the path or authority before forwarding.</summary>
    public HttpRewrite? Rewrite { get; set; }

    /// <summary>The request timeout (<c>"1.5s"</c>); absent or <c>0s</c> disables it.</summary>
    public string? Timeout { get; set; }

    /// <summary>The retry policy; absent means Istio's default, <c>attempts: 0</c> none.</summary>
    public HttpRetry? Retries { get; set; }

    /// <summary>Faults to inject.</summary>
    public HttpFaultInjection? Fault { get; set; }

    /// <summary>A destination to mirror requests to.</summary>
    public Destination? Mirror { get; set; }

    /// <summary>The share of requests mirrored to <see cref="Mirror"/> (deprecated integer form).</summary>
    public uint? MirrorPercent { get; set; }

    /// <summary>The share of requests mirrored to <see cref="Mirror"/>.</summary>
    public Percent? MirrorPercentage { get; set; }

    /// <summary>Several mirror destinations, each with its share.</summary>
    public List<HttpMirrorPolicy> Mirrors { get; set; } = [];

    /// <summary>The CORS policy.</summary>
    public CorsPolicy? CorsPolicy { get; set; }

    /// <summary>Header manipulation for the whole route.</summary>
    public Headers? Headers { get; set; }
}

/// <summary>A route condition: every field given must match.</summary>
public sealed class HttpMatchRequest
{
    /// <summary>The condition's name, appended to the route's.</summary>
    public string? Name { get; set; }

    /// <summary>The path.</summary>
    public StringMatch? Uri { get; set; }

    /// <summary>The scheme.</summary>
    public StringMatch? Scheme { get; set; }

    /// <summary>The method.</summary>
    public StringMatch? Method { get; set; }

    /// <summary>The authority (Host).</summary>
    public StringMatch? Authority { get; set; }

    /// <summary>Request headers that must match (lower-case names); an empty match means present.</summary>
    public Dictionary<string, StringMatch?> Headers { get; set; } = [];

    /// <summary>Request headers that must NOT match.</summary>
    public Dictionary<string, StringMatch?> WithoutHeaders { get; set; } = [];

    /// <summary>Query parameters that must match.</summary>
    public Dictionary<string, StringMatch?> QueryParams { get; set; } = [];

    /// <summary>The destination port: the condition applies only to routes of that port.</summary>
    public uint Port { get; set; }

    /// <summary>Labels the calling workload (the proxy) must carry.</summary>
    public Dictionary<string, string> SourceLabels { get; set; } = [];

    /// <summary>The namespace the calling workload must be in.</summary>
    public string? SourceNamespace { get; set; }

    /// <summary>Gateways (or <c>mesh</c>) the condition applies to, overriding the VirtualService's.</summary>
    public List<string> Gateways { get; set; } = [];

    /// <summary>Match the path case-insensitively.</summary>
    public bool IgnoreUriCase { get; set; }

    /// <summary>Envoy's per-route stat prefix.</summary>
    public string? StatPrefix { get; set; }
}

/// <summary>A string condition: exactly one of exact, prefix or regex (RE2); none means "present".</summary>
public sealed class StringMatch
{
    /// <summary>Equal to.</summary>
    public string? Exact { get; set; }

    /// <summary>Starts with.</summary>
    public string? Prefix { get; set; }

    /// <summary>Matches the RE2 regular expression (whole string).</summary>
    public string? Regex { get; set; }
}

/// <summary>A weighted destination.</summary>
public sealed class HttpRouteDestination
{
    /// <summary>Where to.</summary>
    public Destination? Destination { get; set; }

    /// <summary>The relative weight (percent).</summary>
    public int Weight { get; set; }

    /// <summary>Header manipulation when this destination is chosen.</summary>
    public Headers? Headers { get; set; }
}

/// <summary>A service (and subset and port) traffic goes to.</summary>
public sealed class Destination
{
    /// <summary>The service host (short names are relative to the VirtualService's namespace).</summary>
    public string Host { get; set; } = string.Empty;

    /// <summary>A DestinationRule subset.</summary>
    public string? Subset { get; set; }

    /// <summary>The service port; may be omitted when the service has one port.</summary>
    public PortSelector? Port { get; set; }
}

/// <summary>A percentage, 0–100, fractions allowed.</summary>
public sealed class Percent
{
    /// <summary>The value.</summary>
    public double Value { get; set; }
}

/// <summary>Header operations for requests and responses.</summary>
public sealed class Headers
{
    /// <summary>On the request forwarded.</summary>
    public HeaderOperations? Request { get; set; }

    /// <summary>On the response returned.</summary>
    public HeaderOperations? Response { get; set; }
}

/// <summary>Set (overwrite), add (append) and remove headers.</summary>
public sealed class HeaderOperations
{
    /// <summary>Headers to overwrite.</summary>
    public Dictionary<string, string> Set { get; set; } = [];

    /// <summary>Headers to append.</summary>
    public Dictionary<string, string> Add { get; set; } = [];

    /// <summary>Headers to remove.</summary>
    public List<string> Remove { get; set; } = [];
}

/// <summary>A redirect answer.</summary>
public sealed class HttpRedirect
{
    /// <summary>The new path.</summary>
    public string? Uri { get; set; }

    /// <summary>The new authority.</summary>
    public string? Authority { get; set; }

    /// <summary>The new port.</summary>
    public uint? Port { get; set; }

    /// <summary><c>FROM_PROTOCOL_DEFAULT</c> or <c>FROM_REQUEST_PORT</c>.</summary>
    public string? DerivePort { get; set; }

    /// <summary>The new scheme.</summary>
    public string? Scheme { get; set; }

    /// <summary>The status: 301 (default), 302, 303, 307 or 308.</summary>
    public uint RedirectCode { get; set; }
}

/// <summary>A fixed answer.</summary>
public sealed class HttpDirectResponse
{
    /// <summary>The status code.</summary>
    public uint Status { get; set; }

    /// <summary>The body.</summary>
    public HttpBody? Body { get; set; }
}

/// <summary>A direct response body: a string or base64 bytes.</summary>
public sealed class HttpBody
{
    /// <summary>The body as text.</summary>
    [JsonPropertyName("string")]
    public string? Text { get; set; }

    /// <summary>The body as base64-encoded bytes.</summary>
    public string? Bytes { get; set; }
}

/// <summary>A delegate reference.</summary>
public sealed class DelegateReference
{
    /// <summary>The delegate VirtualService's name.</summary>
    public string? Name { get; set; }

    /// <summary>Its namespace (default: the referring one's).</summary>
    public string? Namespace { get; set; }
}

/// <summary>A rewrite before forwarding.</summary>
public sealed class HttpRewrite
{
    /// <summary>Replaces the matched path prefix (or the path of an exact match).</summary>
    public string? Uri { get; set; }

    /// <summary>Replaces the authority (Host).</summary>
    public string? Authority { get; set; }

    /// <summary>Rewrites the path with a regular expression.</summary>
    public RegexRewrite? UriRegexRewrite { get; set; }
}

/// <summary>A regex path rewrite.</summary>
public sealed class RegexRewrite
{
    /// <summary>The RE2 pattern.</summary>
    public string? Match { get; set; }

    /// <summary>The substitution (<c>\1</c> for groups).</summary>
    public string? Rewrite { get; set; }
}

/// <summary>A retry policy.</summary>
public sealed class HttpRetry
{
    /// <summary>The number of retries; 0 disables retries.</summary>
    public int Attempts { get; set; }

    /// <summary>The timeout of each attempt.</summary>
    public string? PerTryTimeout { get; set; }

    /// <summary>Envoy's <c>retry_on</c> conditions, comma-separated; numbers are status codes.</summary>
    public string? RetryOn { get; set; }

    /// <summary>Retry in other localities.</summary>
    public bool? RetryRemoteLocalities { get; set; }

    /// <summary>Whether retries avoid hosts already tried (default: yes).</summary>
    public bool? RetryIgnorePreviousHosts { get; set; }

    /// <summary>The base back-off interval.</summary>
    public string? Backoff { get; set; }
}

/// <summary>Faults to inject.</summary>
public sealed class HttpFaultInjection
{
    /// <summary>Delay requests.</summary>
    public FaultDelay? Delay { get; set; }

    /// <summary>Abort requests.</summary>
    public FaultAbort? Abort { get; set; }
}

/// <summary>A delay fault.</summary>
public sealed class FaultDelay
{
    /// <summary>The delay.</summary>
    public string? FixedDelay { get; set; }

    /// <summary>An exponential delay (not supported by Istio: ignored).</summary>
    public string? ExponentialDelay { get; set; }

    /// <summary>The share of requests delayed.</summary>
    public Percent? Percentage { get; set; }

    /// <summary>The share of requests delayed (deprecated integer form).</summary>
    public int Percent { get; set; }
}

/// <summary>An abort fault.</summary>
public sealed class FaultAbort
{
    /// <summary>The HTTP status to answer with.</summary>
    public int? HttpStatus { get; set; }

    /// <summary>The gRPC status (name, e.g. <c>UNAVAILABLE</c>) to answer with.</summary>
    public string? GrpcStatus { get; set; }

    /// <summary>An HTTP/2 error (not supported by Istio: ignored).</summary>
    public string? Http2Error { get; set; }

    /// <summary>The share of requests aborted.</summary>
    public Percent? Percentage { get; set; }
}

/// <summary>One mirror destination.</summary>
public sealed class HttpMirrorPolicy
{
    /// <summary>Where to mirror.</summary>
    public Destination? Destination { get; set; }

    /// <summary>The share of requests mirrored (default all).</summary>
    public Percent? Percentage { get; set; }
}

/// <summary>A CORS policy.</summary>
public sealed class CorsPolicy
{
    /// <summary>Allowed origins.</summary>
    public List<StringMatch>? AllowOrigins { get; set; }

    /// <summary>Allowed origins, exact (deprecated).</summary>
    public List<string>? AllowOrigin { get; set; }

    /// <summary>Allowed methods.</summary>
    public List<string> AllowMethods { get; set; } = [];

    /// <summary>Allowed request headers.</summary>
    public List<string> AllowHeaders { get; set; } = [];

    /// <summary>Exposed response headers.</summary>
    public List<string> ExposeHeaders { get; set; } = [];

    /// <summary>How long preflight results may be cached.</summary>
    public string? MaxAge { get; set; }

    /// <summary>Whether credentials are allowed.</summary>
    public bool? AllowCredentials { get; set; }

    /// <summary><c>FORWARD</c> (default) or <c>IGNORE</c> preflights that match no origin.</summary>
    public string? UnmatchedPreflights { get; set; }
}
