using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Istio;
using MeshHost.Model;
using CorsFilterPolicy = Envoy.Extensions.Filters.Http.Cors.V3.CorsPolicy;
using DelayFault = Envoy.Extensions.Filters.Common.Fault.V3.FaultDelay;
using EnvoyRoute = Envoy.Config.Route.V3.Route;
using HttpFault = Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault;
using IstioCors = MeshHost.Istio.CorsPolicy;
using Percent = MeshHost.Istio.Percent;
using RetryPolicy = Envoy.Config.Route.V3.RetryPolicy;
using IstioDestination = MeshHost.Istio.Destination;
using IstioHeaders = MeshHost.Istio.Headers;
using RetryHostPredicate = Envoy.Config.Route.V3.RetryPolicy.Types.RetryHostPredicate;

namespace MeshHost.Generation;

/// <summary>
/// Translates a VirtualService's HTTP routes into Envoy routes for one proxy and one listener port, as istiod's
/// route.BuildHTTPRoutesForVirtualService / TranslateRoute do (pilot/pkg/networking/core/route in istio). Bad parts
/// are reported on the VirtualService and their http[] entry skipped; the rest is kept.
/// </summary>
public sealed class RouteTranslator
{
    /// <summary>The name Envoy (and istiod) give the fault filter.</summary>
    public const string FaultFilter = "envoy.filters.http.fault";

    /// <summary>The name Envoy (and istiod) give the CORS filter.</summary>
    public const string CorsFilter = "envoy.filters.http.cors";

    /// <summary>istiod's default <c>retry_on</c> (route/retry/retry.go).</summary>
    public const string DefaultRetryOn = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

    private const string PreviousHostsPredicate = "envoy.retry_host_predicates.previous_hosts";
    private const string PreviousPrioritiesType = "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig";

    private readonly PushContext _context;
    private readonly Proxy _proxy;
    private readonly int _listenPort;
    private readonly IReadOnlySet<string> _gatewayNames;
    private readonly bool _isTls;
    private readonly Func<string, int?> _defaultPort;

    /// <summary>A translator for routes of <paramref name="proxy"/> on <paramref name="listenPort"/>.</summary>
    /// <param name="context">The push context (problems are reported there).</param>
    /// <param name="proxy">The proxy: its labels and namespace filter <c>sourceLabels</c>/<c>sourceNamespace</c>.</param>
    /// <param name="listenPort">The port the routes serve (default destination port, <c>match.port</c>).</param>
    /// <param name="gatewayNames">The gateways the routes are for (<c>mesh</c> for sidecars), for <c>match.gateways</c>.</param>
    /// <param name="isTls">Whether the listener terminates TLS (redirect scheme default).</param>
    /// <param name="defaultPort">The port of a destination host without <c>port</c>, when the service decides it
    /// (istiod: a service with a single port); null means <paramref name="listenPort"/>.</param>
    public RouteTranslator(PushContext context, Proxy proxy, int listenPort, IReadOnlySet<string> gatewayNames, bool isTls, Func<string, int?> defaultPort)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(gatewayNames);
        ArgumentNullException.ThrowIfNull(defaultPort);
        _context = context;
        _proxy = proxy;
        _listenPort = listenPort;
        _gatewayNames = gatewayNames;
        _isTls = isTls;
        _defaultPort = defaultPort;
    }

    /// <summary>The Envoy routes of <paramref name="vs"/>, in order, up to the first catch-all; empty when no route
    /// applies to this proxy and port.</summary>
    public IReadOnlyList<EnvoyRoute> Translate(ResolvedVirtualService vs)
    {
        ArgumentNullException.ThrowIfNull(vs);
        var routes = new List<EnvoyRoute>();
        for (var i = 0; i < vs.Spec.Http.Count; i++)
        {
            var http = vs.Spec.Http[i];
            if (http is null)
            {
                continue;
            }
            if (Validate(http, $"spec.http[{i}]") is { } problem)
            {
                _context.Report(vs.Config.Key, problem + "; that route is skipped");
                continue;
            }
            ReportUnknownHosts(vs, http, i);
            var catchAll = false;
            if (http.Match.Count == 0)
            {
                if (TranslateRoute(vs, http, null) is { } r)
                {
                    routes.Add(r);
                }
                catchAll = true;
            }
            else
            {
                foreach (var match in http.Match)
                {
                    if (TranslateRoute(vs, http, match) is { } r)
                    {
                        routes.Add(r);
                        if (IsCatchAll(r))
                        {
                            catchAll = true;
                            break;
                        }
                    }
                }
            }
            if (catchAll)
            {
                break;
            }
        }
        return routes;
    }

    /// <summary>istiod's default route of a service port without a VirtualService: prefix <c>/</c> to
    /// <paramref name="cluster"/>, named <c>default</c>, with the default retry policy and no timeout.</summary>
    public static EnvoyRoute DefaultRoute(string cluster, string operation, bool proxyless)
    {
        var action = new RouteAction { Cluster = cluster, RetryPolicy = ConvertRetry(null) };
        SetTimeout(action, TimeSpan.Zero, proxyless);
        return new EnvoyRoute
        {
            Name = "default",
            Match = new RouteMatch { Prefix = "/" },
            Decorator = new Decorator { Operation = operation },
            Route_ = action,
        };
    }

    /// <summary>Whether a route matches every request: path prefix <c>/</c> (or regex <c>.*</c>) and no header,
    /// query or metadata condition.</summary>
    public static bool IsCatchAll(EnvoyRoute route)
    {
        ArgumentNullException.ThrowIfNull(route);
        var m = route.Match;
        if (m is null)
        {
            return false;
        }
        var all = m.PathSpecifierCase switch
        {
            RouteMatch.PathSpecifierOneofCase.Prefix => m.Prefix == "/",
            RouteMatch.PathSpecifierOneofCase.PathSeparatedPrefix => m.PathSeparatedPrefix == "/",
            RouteMatch.PathSpecifierOneofCase.SafeRegex => m.SafeRegex.Regex == ".*",
            _ => false,
        };
        return all && m.Headers.Count == 0 && m.QueryParameters.Count == 0 && m.DynamicMetadata.Count == 0;
    }

    /// <summary>istiod's retry policy for a VirtualService's <c>retries</c> (route/retry/retry.go ConvertPolicy):
    /// absent = the default (2 retries on connect-failure, refused-stream, unavailable, cancelled and 503, other
    /// hosts preferred, 5 host selection attempts); <c>attempts: 0</c> = none.</summary>
    public static RetryPolicy? ConvertRetry(HttpRetry? retry)
    {
        var policy = new RetryPolicy
        {
            NumRetries = 2,
            RetryOn = DefaultRetryOn,
            HostSelectionRetryMaxAttempts = 5,
            RetriableStatusCodes = { 503 },
            RetryHostPredicate = { PreviousHosts() },
        };
        if (retry is null)
        {
            return policy;
        }
        if (retry.Attempts <= 0)
        {
            return null;
        }
        policy.NumRetries = (uint)retry.Attempts;
        if (!string.IsNullOrEmpty(retry.RetryOn))
        {
            var on = new List<string>();
            policy.RetriableStatusCodes.Clear();
            foreach (var part in retry.RetryOn.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && IsHttpStatus(code))
                {
                    policy.RetriableStatusCodes.Add((uint)code);
                }
                else
                {
                    on.Add(part);
                }
            }
            policy.RetryOn = string.Join(',', on);
            if (policy.RetriableStatusCodes.Count > 0 && !policy.RetryOn.Contains("retriable-status-codes", StringComparison.Ordinal))
            {
                policy.RetryOn += ",retriable-status-codes";
            }
        }
        if (retry.PerTryTimeout is { } perTry)
        {
            policy.PerTryTimeout = Duration.FromTimeSpan(IstioJson.Duration(perTry, "perTryTimeout"));
        }
        if (retry.RetryIgnorePreviousHosts is { } ignorePrevious)
        {
            policy.RetryHostPredicate.Clear();
            if (ignorePrevious)
            {
                policy.RetryHostPredicate.Add(PreviousHosts());
            }
        }
        if (retry.RetryRemoteLocalities == true)
        {
            policy.RetryPriority = new RetryPolicy.Types.RetryPriority
            {
                Name = "envoy.retry_priorities.previous_priorities",
                // PreviousPrioritiesConfig{update_frequency: 2}: field 1, varint 2.
                TypedConfig = new Any { TypeUrl = PreviousPrioritiesType, Value = ByteString.CopyFrom(0x08, 0x02) },
            };
        }
        if (retry.Backoff is { } backoff)
        {
            policy.RetryBackOff = new RetryPolicy.Types.RetryBackOff { BaseInterval = Duration.FromTimeSpan(IstioJson.Duration(backoff, "backoff")) };
        }
        return policy;
    }

    private static RetryHostPredicate PreviousHosts() => new()
    {
        Name = PreviousHostsPredicate,
        TypedConfig = Any.Pack(new Envoy.Extensions.Retry.Host.PreviousHosts.V3.PreviousHostsPredicate()),
    };

    // Go's http.StatusText knows these codes; istiod treats only them as status codes in retryOn.
    private static bool IsHttpStatus(int code) => code is (>= 100 and <= 103) or (>= 200 and <= 208) or 226
        or (>= 300 and <= 308 and not 306) or (>= 400 and <= 418) or (>= 421 and <= 426) or 428 or 429 or 431 or 451
        or (>= 500 and <= 508) or 510 or 511;

    private static void SetTimeout(RouteAction action, TimeSpan timeout, bool proxyless)
    {
        var d = Duration.FromTimeSpan(timeout);
        action.Timeout = d;
        if (proxyless)
        {
            action.MaxStreamDuration = new RouteAction.Types.MaxStreamDuration { MaxStreamDuration_ = d };
        }
        else
        {
            // istiod sets the deprecated max_grpc_timeout (its replacement had regressions): 0 when there is no
            // timeout, so grpc-timeout headers are honoured without limit.
#pragma warning disable CS0612, CS0618
            action.MaxGrpcTimeout = d;
#pragma warning restore CS0612, CS0618
        }
    }

    private EnvoyRoute? TranslateRoute(ResolvedVirtualService vs, HttpRoute http, HttpMatchRequest? match)
    {
        if (match is not null && match.Port != 0 && match.Port != _listenPort)
        {
            return null;
        }
        if (!SourceMatches(vs, match))
        {
            return null;
        }
        var name = http.Name ?? string.Empty;
        if (!string.IsNullOrEmpty(match?.Name))
        {
            name = name + "." + match.Name;
        }
        var route = new EnvoyRoute
        {
            Name = name,
            Match = TranslateMatch(match),
            Metadata = ConfigMetadata(vs),
        };
        if (!string.IsNullOrEmpty(match?.StatPrefix))
        {
            route.StatPrefix = match.StatPrefix;
        }

        var authority = string.Empty;
        if (http.Headers is not null)
        {
            var ops = HeaderOps(http.Headers);
            route.RequestHeadersToAdd.AddRange(ops.RequestAdd);
            route.ResponseHeadersToAdd.AddRange(ops.ResponseAdd);
            route.RequestHeadersToRemove.AddRange(ops.RequestRemove);
            route.ResponseHeadersToRemove.AddRange(ops.ResponseRemove);
            authority = ops.Authority;
        }

        if (http.Redirect is { } redirect)
        {
            route.Redirect = Redirect(redirect);
        }
        else if (http.DirectResponse is { } direct)
        {
            route.DirectResponse = DirectResponse(direct);
        }
        else
        {
            route.Route_ = Action(vs, http, route, authority);
        }

        route.Decorator = new Decorator { Operation = Operation(route, vs.Name) };
        if (http.Fault is not null && Fault(http.Fault) is { } fault)
        {
            route.TypedPerFilterConfig[FaultFilter] = Any.Pack(fault);
        }
        if (http.CorsPolicy is not null)
        {
            route.TypedPerFilterConfig[CorsFilter] = Any.Pack(Cors(http.CorsPolicy));
        }
        return route;
    }

    private bool SourceMatches(ResolvedVirtualService vs, HttpMatchRequest? match)
    {
        if (match is null)
        {
            return true;
        }
        if (match.Gateways.Count > 0)
        {
            return RouteVirtualServices.ResolveGateways(match.Gateways, vs.Namespace).Any(_gatewayNames.Contains);
        }
        return PushContext.Matches(match.SourceLabels, _proxy.Labels)
            && (string.IsNullOrEmpty(match.SourceNamespace) || match.SourceNamespace == _proxy.Namespace);
    }

    private static Metadata ConfigMetadata(ResolvedVirtualService vs)
    {
        var config = new Struct();
        config.Fields["config"] = Value.ForString($"/apis/networking.istio.io/v1/namespaces/{vs.Namespace}/virtual-service/{vs.Name}");
        return new Metadata { FilterMetadata = { ["istio"] = config } };
    }

    private static RouteMatch TranslateMatch(HttpMatchRequest? match)
    {
        var result = new RouteMatch { Prefix = "/" };
        if (match is null)
        {
            return result;
        }
        var headers = new List<HeaderMatcher>();
        foreach (var (name, sm) in match.Headers)
        {
            headers.Add(HeaderMatch(name, sm));
        }
        foreach (var (name, sm) in match.WithoutHeaders)
        {
            var h = HeaderMatch(name, sm);
            h.InvertMatch = true;
            if (!IsPresentMatch(sm))
            {
                h.TreatMissingHeaderAsEmpty = true;
            }
            headers.Add(h);
        }
        result.Headers.AddRange(headers.OrderBy(h => h.Name, StringComparer.Ordinal));

        if (match.Uri is { } uri)
        {
            if (uri.Exact is not null)
            {
                result.Path = uri.Exact;
            }
            else if (uri.Prefix is not null)
            {
                result.Prefix = uri.Prefix;
            }
            else if (uri.Regex is not null)
            {
                result.SafeRegex = new RegexMatcher { Regex = uri.Regex };
            }
        }
        result.CaseSensitive = !match.IgnoreUriCase;
        if (match.Method is not null)
        {
            result.Headers.Add(HeaderMatch(":method", match.Method));
        }
        if (match.Authority is not null)
        {
            result.Headers.Add(HeaderMatch(":authority", match.Authority));
        }
        if (match.Scheme is not null)
        {
            result.Headers.Add(HeaderMatch(":scheme", match.Scheme));
        }
        // istiod iterates a Go map here (unordered); sorted by name for a stable output.
        foreach (var (name, sm) in match.QueryParams.OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            var q = new QueryParameterMatcher { Name = name };
            if (IsPresentMatch(sm))
            {
                q.PresentMatch = true;
            }
            else if (StringMatcher(sm) is { } s)
            {
                q.StringMatch = s;
            }
            result.QueryParameters.Add(q);
        }
        return result;
    }

    private static bool IsPresentMatch(StringMatch? sm) =>
        sm is null || (sm.Exact is null && sm.Prefix is null && sm.Regex is null) || (sm.Exact is null && sm.Prefix is null && sm.Regex == "*");

    private static HeaderMatcher HeaderMatch(string name, StringMatch? sm)
    {
        var h = new HeaderMatcher { Name = name };
        if (IsPresentMatch(sm))
        {
            h.PresentMatch = true;
        }
        else if (StringMatcher(sm) is { } s)
        {
            h.StringMatch = s;
        }
        return h;
    }

    private static StringMatcher? StringMatcher(StringMatch? sm) => sm switch
    {
        { Exact: { } e } => new StringMatcher { Exact = e },
        { Prefix: { } p } => new StringMatcher { Prefix = p },
        { Regex: { } r } => new StringMatcher { SafeRegex = new RegexMatcher { Regex = r } },
        _ => null,
    };

    private sealed record HeaderOperationSet(List<HeaderValueOption> RequestAdd, List<HeaderValueOption> ResponseAdd,
        List<string> RequestRemove, List<string> ResponseRemove, string Authority);

    private static HeaderOperationSet HeaderOps(IstioHeaders headers)
    {
        var (requestAdd, setAuthority) = AppendHeaders(headers.Request?.Set, append: false);
        var (reqAdd, addAuthority) = AppendHeaders(headers.Request?.Add, append: true);
        requestAdd.AddRange(reqAdd);
        var (responseAdd, _) = AppendHeaders(headers.Response?.Set, append: false);
        var (respAdd, _) = AppendHeaders(headers.Response?.Add, append: true);
        responseAdd.AddRange(respAdd);
        return new HeaderOperationSet(requestAdd, responseAdd,
            [.. (headers.Request?.Remove ?? []).Where(k => !IsInternalHeader(k))],
            [.. (headers.Response?.Remove ?? []).Where(k => !IsInternalHeader(k))],
            setAuthority.Length > 0 ? setAuthority : addAuthority);
    }

    private static (List<HeaderValueOption> Options, string Authority) AppendHeaders(Dictionary<string, string>? headers, bool append)
    {
        var options = new List<HeaderValueOption>();
        var authority = string.Empty;
        foreach (var (key, value) in (headers ?? []).OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            if (string.Equals(key, ":authority", StringComparison.OrdinalIgnoreCase) || string.Equals(key, "host", StringComparison.OrdinalIgnoreCase))
            {
                authority = value;
            }
            if (IsInternalHeader(key))
            {
                continue;
            }
            options.Add(new HeaderValueOption
            {
                Header = new HeaderValue { Key = key, Value = value },
                AppendAction = append ? HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd : HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
            });
        }
        return (options, authority);
    }

    private static bool IsInternalHeader(string key) => key.StartsWith(':') || string.Equals(key, "host", StringComparison.OrdinalIgnoreCase);

    private RouteAction Action(ResolvedVirtualService vs, HttpRoute http, EnvoyRoute route, string authority)
    {
        var action = new RouteAction();
        var timeout = http.Timeout is { } t ? IstioJson.Duration(t, "timeout") : TimeSpan.Zero;
        SetTimeout(action, timeout, _proxy.IsProxylessGrpc);
        if (http.Rewrite is { } rewrite)
        {
            if (rewrite.UriRegexRewrite is { Match: { } pattern } regexRewrite)
            {
                action.RegexRewrite = new RegexMatchAndSubstitute
                {
                    Pattern = new RegexMatcher { Regex = pattern },
                    Substitution = regexRewrite.Rewrite ?? string.Empty,
                };
            }
            else if (!string.IsNullOrEmpty(rewrite.Uri))
            {
                action.PrefixRewrite = rewrite.Uri;
            }
            if (!string.IsNullOrEmpty(rewrite.Authority))
            {
                authority = rewrite.Authority;
            }
        }
        if (authority.Length > 0)
        {
            action.HostRewriteLiteral = authority;
        }
        if (http.Mirror is { } mirror && MirrorPercent(http) is { } fraction)
        {
            action.RequestMirrorPolicies.Add(MirrorPolicy(vs, mirror, fraction));
        }
        foreach (var m in http.Mirrors)
        {
            if (m?.Destination is { } destination && MirrorPercent(m.Percentage, null) is { } f)
            {
                action.RequestMirrorPolicies.Add(MirrorPolicy(vs, destination, f));
            }
        }

        if (http.Route.Count == 1)
        {
            var dst = http.Route[0];
            action.Cluster = Cluster(vs, dst.Destination!);
            AddHashPolicy(action, vs, dst.Destination!);
            if (dst.Headers is not null)
            {
                var ops = HeaderOps(dst.Headers);
                route.RequestHeadersToAdd.AddRange(ops.RequestAdd);
                route.RequestHeadersToRemove.AddRange(ops.RequestRemove);
                route.ResponseHeadersToAdd.AddRange(ops.ResponseAdd);
                route.ResponseHeadersToRemove.AddRange(ops.ResponseRemove);
                // As istiod: a destination's authority applies only when the route sets none.
                if (ops.Authority.Length > 0 && action.HostRewriteSpecifierCase == RouteAction.HostRewriteSpecifierOneofCase.None)
                {
                    action.HostRewriteLiteral = ops.Authority;
                }
            }
        }
        else
        {
            // As istiod: weights are passed as given (no total_weight: Envoy sums them); weight-0 destinations drop out.
            var weighted = new WeightedCluster();
            foreach (var dst in http.Route.Where(d => d.Weight != 0))
            {
                var cw = new WeightedCluster.Types.ClusterWeight { Name = Cluster(vs, dst.Destination!), Weight = (uint)dst.Weight };
                AddHashPolicy(action, vs, dst.Destination!);
                if (dst.Headers is not null)
                {
                    var ops = HeaderOps(dst.Headers);
                    cw.RequestHeadersToAdd.AddRange(ops.RequestAdd);
                    cw.RequestHeadersToRemove.AddRange(ops.RequestRemove);
                    cw.ResponseHeadersToAdd.AddRange(ops.ResponseAdd);
                    cw.ResponseHeadersToRemove.AddRange(ops.ResponseRemove);
                    if (ops.Authority.Length > 0)
                    {
                        cw.HostRewriteLiteral = ops.Authority;
                    }
                }
                weighted.Clusters.Add(cw);
            }
            action.WeightedClusters = weighted;
        }
        if (ConvertRetry(http.Retries) is { } retry)
        {
            action.RetryPolicy = retry;
        }
        return action;
    }

    /// <summary>As istiod: each destination whose DestinationRule hashes consistently adds its hash policy to the
    /// route (without one, a ring-hash or Maglev cluster picks endpoints at random).</summary>
    private void AddHashPolicy(RouteAction action, ResolvedVirtualService vs, IstioDestination destination)
    {
        var host = _context.ResolveHost(destination.Host.Trim(), vs.Namespace);
        var port = destination.Port is { Number: > 0 } p ? p.Number : _defaultPort(host) ?? _listenPort;
        if (HashPolicy(_context, _proxy, host, port, destination.Subset) is { } hash)
        {
            action.HashPolicy.Add(hash);
        }
    }

    /// <summary>istiod's consistentHashToHashPolicy for the DestinationRule <paramref name="proxy"/> applies to
    /// <paramref name="host"/>: the rule's load balancer, overridden by the port's, then by the subset's; null when
    /// it does not hash consistently.</summary>
    public static RouteAction.Types.HashPolicy? HashPolicy(PushContext context, Proxy proxy, string host, int port, string? subset)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        if (ClusterDestinationRules.ForHost(context, proxy, host) is not { } rule)
        {
            return null;
        }
        var policy = ClusterDestinationRules.ForPort(rule.Spec.TrafficPolicy, port);
        if (!string.IsNullOrEmpty(subset) && ClusterDestinationRules.Subsets(rule.Spec).FirstOrDefault(s => s.Name == subset) is { } named)
        {
            policy = ClusterDestinationRules.ForSubset(policy, named.TrafficPolicy, port);
        }
        var hash = policy?.LoadBalancer?.ConsistentHash;
        if (hash is null)
        {
            return null;
        }
        if (!string.IsNullOrEmpty(hash.HttpHeaderName))
        {
            return new RouteAction.Types.HashPolicy { Header = new RouteAction.Types.HashPolicy.Types.Header { HeaderName = hash.HttpHeaderName } };
        }
        if (hash.HttpCookie is { } cookie)
        {
            var c = new RouteAction.Types.HashPolicy.Types.Cookie { Name = cookie.Name, Path = cookie.Path ?? string.Empty };
            // A bad TTL is reported with the cluster's load balancer (ClusterTrafficPolicy); here it is left out.
            if (ClusterTrafficPolicy.ParseDuration(cookie.Ttl, "ttl", static _ => { }) is { } ttl)
            {
                c.Ttl = ttl;
            }
            return new RouteAction.Types.HashPolicy { Cookie = c };
        }
        if (hash.UseSourceIp == true)
        {
            return new RouteAction.Types.HashPolicy { ConnectionProperties = new RouteAction.Types.HashPolicy.Types.ConnectionProperties { SourceIp = true } };
        }
        if (!string.IsNullOrEmpty(hash.HttpQueryParameterName))
        {
            return new RouteAction.Types.HashPolicy { QueryParameter = new RouteAction.Types.HashPolicy.Types.QueryParameter { Name = hash.HttpQueryParameterName } };
        }
        return null;
    }

    private string Cluster(ResolvedVirtualService vs, IstioDestination destination)
    {
        var host = _context.ResolveHost(destination.Host.Trim(), vs.Namespace);
        var port = destination.Port is { Number: > 0 } p ? p.Number : _defaultPort(host) ?? _listenPort;
        return MeshNames.OutboundCluster(port, string.IsNullOrEmpty(destination.Subset) ? null : destination.Subset, host);
    }

    private RouteAction.Types.RequestMirrorPolicy MirrorPolicy(ResolvedVirtualService vs, IstioDestination destination, FractionalPercent fraction) => new()
    {
        Cluster = Cluster(vs, destination),
        RuntimeFraction = new RuntimeFractionalPercent { DefaultValue = fraction },
        TraceSampled = false,
    };

    private static FractionalPercent? MirrorPercent(HttpRoute http) => MirrorPercent(http.MirrorPercentage, http.MirrorPercent);

    private static FractionalPercent? MirrorPercent(Percent? percentage, uint? legacy)
    {
        if (percentage is not null)
        {
            return percentage.Value > 0 ? Fraction(percentage) : null;
        }
        if (legacy is { } l)
        {
            return l > 0 ? new FractionalPercent { Numerator = l, Denominator = FractionalPercent.Types.DenominatorType.Hundred } : null;
        }
        return new FractionalPercent { Numerator = 100, Denominator = FractionalPercent.Types.DenominatorType.Hundred };
    }

    private static FractionalPercent Fraction(Percent p) => new()
    {
        Numerator = (uint)(p.Value * 10000),
        Denominator = FractionalPercent.Types.DenominatorType.Million,
    };

    private RedirectAction Redirect(HttpRedirect redirect)
    {
        var action = new RedirectAction { HostRedirect = redirect.Authority ?? string.Empty, PathRedirect = redirect.Uri ?? string.Empty };
        if (!string.IsNullOrEmpty(redirect.Scheme))
        {
            action.SchemeRedirect = redirect.Scheme;
        }
        var portGiven = redirect.Port is not null || redirect.DerivePort is not null;
        if (redirect.Port is { } port)
        {
            action.PortRedirect = port;
        }
        else if (redirect.DerivePort == "FROM_REQUEST_PORT")
        {
            // Envoy cannot derive the port; the route belongs to one listener port, so that one is meant.
            action.PortRedirect = (uint)_listenPort;
        }
        if (portGiven)
        {
            var scheme = string.IsNullOrEmpty(redirect.Scheme) ? (_isTls ? "https" : "http") : redirect.Scheme;
            if ((action.PortRedirect == 80 && scheme == "http") || (action.PortRedirect == 443 && scheme == "https"))
            {
                action.PortRedirect = 0;
            }
        }
        action.ResponseCode = redirect.RedirectCode switch
        {
            302 => RedirectAction.Types.RedirectResponseCode.Found,
            303 => RedirectAction.Types.RedirectResponseCode.SeeOther,
            307 => RedirectAction.Types.RedirectResponseCode.TemporaryRedirect,
            308 => RedirectAction.Types.RedirectResponseCode.PermanentRedirect,
            _ => RedirectAction.Types.RedirectResponseCode.MovedPermanently,
        };
        return action;
    }

    private static DirectResponseAction DirectResponse(HttpDirectResponse direct)
    {
        var action = new DirectResponseAction { Status = direct.Status };
        if (direct.Body?.Text is { } text)
        {
            action.Body = new DataSource { InlineString = text };
        }
        else if (direct.Body?.Bytes is { } bytes)
        {
            action.Body = new DataSource { InlineBytes = ByteString.FromBase64(bytes) };
        }
        return action;
    }

    private string Operation(EnvoyRoute route, string vsName)
    {
        var m = route.Match;
        var path = m.PathSpecifierCase switch
        {
            RouteMatch.PathSpecifierOneofCase.Prefix => m.Prefix + "*",
            RouteMatch.PathSpecifierOneofCase.Path => m.Path,
            RouteMatch.PathSpecifierOneofCase.SafeRegex => m.SafeRegex.Regex,
            _ => "/*",
        };
        if (route.ActionCase == EnvoyRoute.ActionOneofCase.Route_ && route.Route_.ClusterSpecifierCase == RouteAction.ClusterSpecifierOneofCase.Cluster)
        {
            var parts = route.Route_.Cluster.Split('|');
            if (parts.Length == 4 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var p))
            {
                return string.Create(CultureInfo.InvariantCulture, $"{parts[3]}:{p}{path}");
            }
        }
        return string.Create(CultureInfo.InvariantCulture, $"{vsName}:{_listenPort}{path}");
    }

    private static HttpFault? Fault(HttpFaultInjection fault)
    {
        var result = new HttpFault();
        if (fault.Delay is { } delay && delay.FixedDelay is { } fixedDelay)
        {
            // Exponential delays are not supported by istiod either (the delay is dropped).
            result.Delay = new DelayFault
            {
                FixedDelay = Duration.FromTimeSpan(IstioJson.Duration(fixedDelay, "fault.delay.fixedDelay")),
                Percentage = delay.Percentage is { } p ? Fraction(p)
                    : new FractionalPercent { Numerator = (uint)Math.Max(0, delay.Percent), Denominator = FractionalPercent.Types.DenominatorType.Hundred },
            };
        }
        if (fault.Abort is { } abort)
        {
            var a = new Envoy.Extensions.Filters.Http.Fault.V3.FaultAbort();
            if (abort.Percentage is { } p)
            {
                a.Percentage = Fraction(p);
            }
            if (abort.HttpStatus is { } status)
            {
                a.HttpStatus = (uint)status;
                result.Abort = a;
            }
            else if (abort.GrpcStatus is { } grpc && GrpcStatus(grpc) is { } code)
            {
                a.GrpcStatus = code;
                result.Abort = a;
            }
        }
        return result.Delay is null && result.Abort is null ? null : result;
    }

    private static uint? GrpcStatus(string name) => name.ToUpperInvariant() switch
    {
        "OK" => 0,
        "CANCELLED" => 1,
        "UNKNOWN" => 2,
        "INVALID_ARGUMENT" => 3,
        "DEADLINE_EXCEEDED" => 4,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "ABORTED" => 10,
        "OUT_OF_RANGE" => 11,
        "UNIMPLEMENTED" => 12,
        "INTERNAL" => 13,
        "UNAVAILABLE" => 14,
        "DATA_LOSS" => 15,
        "UNAUTHENTICATED" => 16,
        _ => null,
    };

    private static CorsFilterPolicy Cors(IstioCors cors)
    {
        var result = new CorsFilterPolicy
        {
            ForwardNotMatchingPreflights = !string.Equals(cors.UnmatchedPreflights, "IGNORE", StringComparison.OrdinalIgnoreCase),
            FilterEnabled = new RuntimeFractionalPercent
            {
                DefaultValue = new FractionalPercent { Numerator = 100, Denominator = FractionalPercent.Types.DenominatorType.Hundred },
            },
            AllowHeaders = string.Join(',', cors.AllowHeaders),
            AllowMethods = string.Join(',', cors.AllowMethods),
            ExposeHeaders = string.Join(',', cors.ExposeHeaders),
        };
        if (cors.AllowOrigins is { } origins)
        {
            foreach (var o in origins)
            {
                if (StringMatcher(o) is { } s)
                {
                    result.AllowOriginStringMatch.Add(s);
                }
            }
        }
        else if (cors.AllowOrigin is { } exact)
        {
            result.AllowOriginStringMatch.AddRange(exact.Select(e => new StringMatcher { Exact = e }));
        }
        if (cors.AllowCredentials is { } credentials)
        {
            result.AllowCredentials = credentials;
        }
        if (cors.MaxAge is { } maxAge)
        {
            result.MaxAge = ((long)IstioJson.Duration(maxAge, "corsPolicy.maxAge").TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }
        return result;
    }

    private void ReportUnknownHosts(ResolvedVirtualService vs, HttpRoute http, int index)
    {
        void Check(IstioDestination? d, string path)
        {
            if (d is null)
            {
                return;
            }
            var host = _context.ResolveHost(d.Host.Trim(), vs.Namespace);
            if (!RouteHosts.IsWildcard(host) && _context.ServicesByHost(host).Count == 0)
            {
                _context.Report(vs.Config.Key, $"{path}.host: no service \"{host}\" is known; routed to its cluster anyway, as istiod does");
            }
        }
        for (var j = 0; j < http.Route.Count; j++)
        {
            Check(http.Route[j]?.Destination, $"spec.http[{index}].route[{j}].destination");
        }
        Check(http.Mirror, $"spec.http[{index}].mirror");
        for (var j = 0; j < http.Mirrors.Count; j++)
        {
            Check(http.Mirrors[j]?.Destination, $"spec.http[{index}].mirrors[{j}].destination");
        }
    }

    /// <summary>What istiod's validation would reject in one http[] entry (and what this generator does not
    /// support), naming the field; null when the entry can be translated.</summary>
    public static string? Validate(HttpRoute http, string path)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(path);
        if (http.Delegate is not null)
        {
            return $"{path}.delegate: a delegation is resolved when VirtualServices are indexed, not here";
        }
        for (var i = 0; i < http.Match.Count; i++)
        {
            var m = http.Match[i];
            if (m is null)
            {
                continue;
            }
            var mp = $"{path}.match[{i}]";
            var problem = CheckMatch(m.Uri, $"{mp}.uri") ?? CheckMatch(m.Method, $"{mp}.method")
                ?? CheckMatch(m.Authority, $"{mp}.authority") ?? CheckMatch(m.Scheme, $"{mp}.scheme");
            foreach (var (kind, map) in new[] { ("headers", m.Headers), ("withoutHeaders", m.WithoutHeaders), ("queryParams", m.QueryParams) })
            {
                foreach (var (name, sm) in map)
                {
                    if (kind != "queryParams" && name.StartsWith("@request.auth.claims", StringComparison.Ordinal))
                    {
                        problem ??= $"{mp}.{kind}.{name}: JWT claim routing is not supported";
                    }
                    problem ??= CheckMatch(sm, $"{mp}.{kind}.{name}");
                }
            }
            if (problem is not null)
            {
                return problem;
            }
        }
        var actions = (http.Route.Count > 0 ? 1 : 0) + (http.Redirect is not null ? 1 : 0) + (http.DirectResponse is not null ? 1 : 0);
        if (actions == 0)
        {
            return $"{path}: a route needs route, redirect or directResponse";
        }
        if (http.Redirect is null && http.DirectResponse is null)
        {
            for (var i = 0; i < http.Route.Count; i++)
            {
                if (http.Route[i]?.Destination is not { Host.Length: > 0 })
                {
                    return $"{path}.route[{i}].destination.host: a destination needs a host";
                }
                if (http.Route[i].Weight < 0)
                {
                    return $"{path}.route[{i}].weight: must not be negative";
                }
            }
            if (http.Route.Count > 1 && http.Route.All(r => r.Weight == 0))
            {
                return $"{path}.route: every destination has weight 0";
            }
        }
        if (http.Redirect is { RedirectCode: not (0 or 301 or 302 or 303 or 307 or 308) } r)
        {
            return $"{path}.redirect.redirectCode: {r.RedirectCode} is not a redirect code (301, 302, 303, 307, 308)";
        }
        if (http.Redirect?.DerivePort is { } derive && derive is not ("FROM_PROTOCOL_DEFAULT" or "FROM_REQUEST_PORT"))
        {
            return $"{path}.redirect.derivePort: \"{derive}\" is neither FROM_PROTOCOL_DEFAULT nor FROM_REQUEST_PORT";
        }
        if (http.DirectResponse?.Body?.Bytes is { } bytes && !IsBase64(bytes))
        {
            return $"{path}.directResponse.body.bytes: not base64";
        }
        if (http.Rewrite?.UriRegexRewrite?.Match is { } rewritePattern && RegexProblem(rewritePattern) is { } rp)
        {
            return $"{path}.rewrite.uriRegexRewrite.match: {rp}";
        }
        if (http.CorsPolicy?.AllowOrigins is { } origins)
        {
            for (var i = 0; i < origins.Count; i++)
            {
                if (CheckMatch(origins[i], $"{path}.corsPolicy.allowOrigins[{i}]") is { } op)
                {
                    return op;
                }
            }
        }
        var durations = new (string? Value, string Field)[]
        {
            (http.Timeout, "timeout"), (http.Retries?.PerTryTimeout, "retries.perTryTimeout"), (http.Retries?.Backoff, "retries.backoff"),
            (http.Fault?.Delay?.FixedDelay, "fault.delay.fixedDelay"), (http.CorsPolicy?.MaxAge, "corsPolicy.maxAge"),
        };
        foreach (var (value, field) in durations)
        {
            if (value is not null)
            {
                try
                {
                    IstioJson.Duration(value, $"{path}.{field}");
                }
                catch (FormatException e)
                {
                    return e.Message;
                }
            }
        }
        return null;
    }

    private static bool IsBase64(string text)
    {
        Span<byte> buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _);
    }

    private static string? CheckMatch(StringMatch? sm, string path)
    {
        if (sm is null)
        {
            return null;
        }
        var set = (sm.Exact is not null ? 1 : 0) + (sm.Prefix is not null ? 1 : 0) + (sm.Regex is not null ? 1 : 0);
        if (set > 1)
        {
            return $"{path}: only one of exact, prefix and regex may be set";
        }
        if (sm.Regex is { } regex && regex != "*" && RegexProblem(regex) is { } problem)
        {
            return $"{path}.regex: {problem}";
        }
        return null;
    }

    /// <summary>Why <paramref name="pattern"/> is not a regular expression Envoy (RE2) accepts, or null. .NET's
    /// parser finds syntax errors; RE2's missing features (look-around, back-references, possessive and atomic
    /// groups) are refused by name.</summary>
    public static string? RegexProblem(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        string[] unsupported = ["(?=", "(?!", "(?<=", "(?<!", "(?>", "*+", "++", "?+", "}+"];
        foreach (var u in unsupported)
        {
            if (pattern.Contains(u, StringComparison.Ordinal))
            {
                return $"\"{pattern}\" uses \"{u}\", which RE2 does not support";
            }
        }
        for (var i = 0; i + 1 < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                if (char.IsAsciiDigit(pattern[i + 1]) && pattern[i + 1] != '0')
                {
                    return $"\"{pattern}\" uses a back-reference, which RE2 does not support";
                }
                i++;
            }
        }
        try
        {
            _ = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException e)
        {
            return $"\"{pattern}\" is not a valid regular expression ({e.Message})";
        }
    }
}
