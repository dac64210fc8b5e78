using System.Globalization;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Fault.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using HttpRbacPerRoute = Envoy.Extensions.Filters.Http.Rbac.V3.RBACPerRoute;
using RouteProto = Envoy.Config.Route.V3.Route;

namespace MeshHost.Tests.Simulation;

public sealed partial class Simulator
{
    private SimulationResult RunHttp(SimulationResult result, HttpConnectionManager hcm, SimulatedCall call, Peer peer)
    {
        RouteConfiguration? config;
        if (hcm.RouteSpecifierCase == HttpConnectionManager.RouteSpecifierOneofCase.RouteConfig)
        {
            config = hcm.RouteConfig;
            result = result with { RouteConfig = config.Name };
        }
        else if (hcm.RouteSpecifierCase == HttpConnectionManager.RouteSpecifierOneofCase.Rds)
        {
            result = result with { RouteConfig = hcm.Rds.RouteConfigName };
            if (!_routes.TryGetValue(hcm.Rds.RouteConfigName, out config))
            {
                return result with { Error = $"route configuration not found: {hcm.Rds.RouteConfigName}" };
            }
        }
        else
        {
            return result with { Error = "unsupported route specifier " + hcm.RouteSpecifierCase };
        }
        if (DuplicateDomain(config) is { } duplicate)
        {
            return result with { Error = $"route configuration {config.Name} has the domain {duplicate} twice (Envoy rejects it)" };
        }

        // The HCM may strip the port before matching (and it then is gone from :authority as well).
        var host = call.EffectiveHost;
        if (hcm.StripAnyHostPort || config.IgnorePortInHostMatching
            || (hcm.StripMatchingHostPort && host.EndsWith(":" + call.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)))
        {
            host = SimulatedCall.StripPort(host);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in call.Headers)
        {
            headers[name] = value;
        }
        headers[":authority"] = host;
        headers[":path"] = call.Path;
        headers[":method"] = call.EffectiveMethod;
        headers[":scheme"] = peer.Tls ? "https" : "http";
        if (call.Protocol == CallProtocol.Grpc)
        {
            headers.TryAdd("content-type", "application/grpc");
        }
        var request = new RbacRequest(call, peer, headers);

        var vhost = SelectVirtualHost(config, host);
        if (vhost is null)
        {
            return result with { Error = "no virtual host matched", Status = 404 };
        }
        result = result with { VirtualHost = vhost.Name };
        if (vhost.RequireTls != VirtualHost.Types.TlsRequirementType.None && !peer.Tls)
        {
            return result with
            {
                Error = "TLS required, sending 301",
                Status = 301,
                RedirectStatus = 301,
                Redirect = $"https://{SimulatedCall.StripPort(host)}{call.Path}",
            };
        }

        var route = vhost.Routes.FirstOrDefault(r => RouteMatches(r.Match, call, headers, peer));
        if (route is not null)
        {
            result = result with { Route = route.Name, RouteMatch = Describe(route.Match) };
        }

        foreach (var filter in hcm.HttpFilters)
        {
            if (filter.Disabled && PerFilterConfig(filter.Name, route, vhost, config) is null)
            {
                continue;
            }
            if (Unpack<HttpRbac>(filter.TypedConfig) is { } rbac)
            {
                var rules = rbac.Rules;
                if (PerFilterConfig(filter.Name, route, vhost, config) is { } perRoute && Unpack<HttpRbacPerRoute>(perRoute) is { } over)
                {
                    rules = over.Rbac?.Rules;
                }
                if (rules is null)
                {
                    continue;
                }
                var decision = RbacEvaluator.Evaluate(filter.Name, rules, request);
                result = result with { Rbac = [.. result.Rbac, decision] };
                if (!decision.Allowed)
                {
                    return result with { Error = "RBAC: access denied", Status = 403 };
                }
            }
            else if (Unpack<HTTPFault>(filter.TypedConfig) is { } fault)
            {
                if (PerFilterConfig(filter.Name, route, vhost, config) is { } perRoute && Unpack<HTTPFault>(perRoute) is { } over)
                {
                    fault = over;
                }
                if (fault.Abort is { } abort && IsAlways(abort.Percentage) && fault.Headers.All(h => HeaderMatching.Matches(h, headers)))
                {
                    switch (abort.ErrorTypeCase)
                    {
                        case FaultAbort.ErrorTypeOneofCase.HttpStatus:
                            return result with { FaultAbortStatus = (int)abort.HttpStatus, Status = (int)abort.HttpStatus, Error = $"fault abort {abort.HttpStatus}" };
                        case FaultAbort.ErrorTypeOneofCase.GrpcStatus:
                            return result with { FaultAbortGrpcStatus = (int)abort.GrpcStatus, Status = 200, Error = $"fault abort grpc-status {abort.GrpcStatus}" };
                    }
                }
            }
            else if (Unpack<Router>(filter.TypedConfig) is not null)
            {
                return RunRouter(result, route, call, headers);
            }
        }
        return result with { Error = "the HTTP connection manager has no router filter" };
    }

    private SimulationResult RunRouter(SimulationResult result, RouteProto? route, SimulatedCall call, Dictionary<string, string> headers)
    {
        if (route is null)
        {
            return result with { Error = "no route matched", Status = 404 };
        }
        switch (route.ActionCase)
        {
            case RouteProto.ActionOneofCase.DirectResponse:
                return result with { DirectResponseStatus = (int)route.DirectResponse.Status, Status = (int)route.DirectResponse.Status };
            case RouteProto.ActionOneofCase.Redirect:
                var (status, location) = DescribeRedirect(route.Redirect, route.Match, call, headers);
                return result with { RedirectStatus = status, Redirect = location, Status = status };
            case RouteProto.ActionOneofCase.Route_:
                break;
            default:
                return result with { Error = "unsupported route action " + route.ActionCase };
        }

        var action = route.Route_;
        IReadOnlyList<ClusterTarget> targets;
        switch (action.ClusterSpecifierCase)
        {
            case RouteAction.ClusterSpecifierOneofCase.Cluster:
                targets = [ResolveCluster(action.Cluster, null, call)];
                result = result with { Cluster = action.Cluster };
                break;
            case RouteAction.ClusterSpecifierOneofCase.WeightedClusters:
                targets = [.. action.WeightedClusters.Clusters.Select(c => ResolveCluster(c.Name, c.Weight ?? 0, call))];
                break;
            case RouteAction.ClusterSpecifierOneofCase.ClusterHeader:
                if (!headers.TryGetValue(action.ClusterHeader, out var named) || named.Length == 0)
                {
                    return result with { Error = $"cluster not found: the request has no {action.ClusterHeader} header", Status = 503 };
                }
                targets = [ResolveCluster(named, null, call)];
                result = result with { Cluster = named };
                break;
            default:
                return result with { Error = "unsupported cluster specifier " + action.ClusterSpecifierCase };
        }
        result = result with { Targets = targets };
        return UpstreamError(targets) is { } error ? result with { Error = error, Status = 503 } : result;
    }

    /// <summary>The most specific typed_per_filter_config: route, then virtual host, then route configuration.</summary>
    private static Any? PerFilterConfig(string filter, RouteProto? route, VirtualHost vhost, RouteConfiguration config) =>
        (route is not null && route.TypedPerFilterConfig.TryGetValue(filter, out var r) ? r : null)
        ?? (vhost.TypedPerFilterConfig.TryGetValue(filter, out var v) ? v : null)
        ?? (config.TypedPerFilterConfig.TryGetValue(filter, out var c) ? c : null);

    private static bool IsAlways(Envoy.Type.V3.FractionalPercent? percent)
    {
        if (percent is null)
        {
            return false;
        }
        var denominator = percent.Denominator switch
        {
            Envoy.Type.V3.FractionalPercent.Types.DenominatorType.TenThousand => 10_000u,
            Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Million => 1_000_000u,
            _ => 100u,
        };
        return percent.Numerator >= denominator;
    }

    private static string? DuplicateDomain(RouteConfiguration config)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return config.VirtualHosts.SelectMany(v => v.Domains).FirstOrDefault(d => !seen.Add(d));
    }

    /// <summary>
    /// Envoy's virtual host search on the Host header as it stands (port included unless stripped), case-insensitive:
    /// an exact domain; then suffix wildcards (<c>*.foo.com</c>, <c>*-bar.foo.com</c>), longest first; then prefix
    /// wildcards (<c>foo.*</c>), longest first; then <c>*</c>. A wildcard must stand for at least one character.
    /// </summary>
    internal static VirtualHost? SelectVirtualHost(RouteConfiguration config, string host)
    {
        foreach (var vhost in config.VirtualHosts)
        {
            if (vhost.Domains.Any(d => d != "*" && !d.StartsWith('*') && !d.EndsWith('*') && string.Equals(d, host, StringComparison.OrdinalIgnoreCase)))
            {
                return vhost;
            }
        }
        VirtualHost? best = null;
        var longest = 0;
        foreach (var vhost in config.VirtualHosts)
        {
            foreach (var domain in vhost.Domains)
            {
                if (domain.Length > 1 && domain.StartsWith('*') && host.Length > domain.Length - 1
                    && host.EndsWith(domain[1..], StringComparison.OrdinalIgnoreCase) && domain.Length > longest)
                {
                    (best, longest) = (vhost, domain.Length);
                }
            }
        }
        if (best is not null)
        {
            return best;
        }
        foreach (var vhost in config.VirtualHosts)
        {
            foreach (var domain in vhost.Domains)
            {
                if (domain.Length > 1 && domain.EndsWith('*') && host.Length > domain.Length - 1
                    && host.StartsWith(domain[..^1], StringComparison.OrdinalIgnoreCase) && domain.Length > longest)
                {
                    (best, longest) = (vhost, domain.Length);
                }
            }
        }
        return best ?? config.VirtualHosts.FirstOrDefault(v => v.Domains.Contains("*"));
    }

    /// <summary>A route matches when its path specifier, every header matcher, every query parameter matcher and its
    /// gRPC / TLS conditions hold. runtime_fraction is ignored (treated as 100%).</summary>
    private static bool RouteMatches(RouteMatch match, SimulatedCall call, Dictionary<string, string> headers, Peer peer)
    {
        var comparison = match.CaseSensitive == false ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var path = call.PathOnly;
        var pathMatches = match.PathSpecifierCase switch
        {
            // A prefix is compared with the whole :path; the other specifiers with the path without its query.
            RouteMatch.PathSpecifierOneofCase.Prefix => call.Path.StartsWith(match.Prefix, comparison),
            RouteMatch.PathSpecifierOneofCase.Path => string.Equals(path, match.Path, comparison),
            RouteMatch.PathSpecifierOneofCase.SafeRegex => StringMatching.FullMatch(match.SafeRegex.Regex, path),
            RouteMatch.PathSpecifierOneofCase.PathSeparatedPrefix => string.Equals(path, match.PathSeparatedPrefix, comparison)
                || path.StartsWith(match.PathSeparatedPrefix + "/", comparison),
            RouteMatch.PathSpecifierOneofCase.ConnectMatcher => call.EffectiveMethod == "CONNECT",
            _ => false,
        };
        if (!pathMatches)
        {
            return false;
        }
        if (!match.Headers.All(h => HeaderMatching.Matches(h, headers)))
        {
            return false;
        }
        var query = StringMatching.ParseQuery(call.Path);
        foreach (var parameter in match.QueryParameters)
        {
            if (!query.TryGetValue(parameter.Name, out var value))
            {
                return false;
            }
            var ok = parameter.QueryParameterMatchSpecifierCase switch
            {
                QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.StringMatch => StringMatching.Matches(parameter.StringMatch, value),
                QueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.PresentMatch => parameter.PresentMatch,
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }
        if (match.Grpc is not null && !(headers.TryGetValue("content-type", out var type) && type.StartsWith("application/grpc", StringComparison.Ordinal)))
        {
            return false;
        }
        if (match.TlsContext is { } tls)
        {
            if (tls.Presented is { } presented && presented != (peer.Principal is not null))
            {
                return false;
            }
            if (tls.Validated is { } validated && validated != (peer.Principal is not null))
            {
                return false;
            }
        }
        return match.DynamicMetadata.Count == 0;
    }

    private static string Describe(RouteMatch match)
    {
        var text = match.PathSpecifierCase switch
        {
            RouteMatch.PathSpecifierOneofCase.Prefix => "prefix:" + match.Prefix,
            RouteMatch.PathSpecifierOneofCase.Path => "path:" + match.Path,
            RouteMatch.PathSpecifierOneofCase.SafeRegex => "regex:" + match.SafeRegex.Regex,
            RouteMatch.PathSpecifierOneofCase.PathSeparatedPrefix => "path_separated_prefix:" + match.PathSeparatedPrefix,
            var other => other.ToString(),
        };
        if (match.CaseSensitive == false)
        {
            text += " (case-insensitive)";
        }
        if (match.Headers.Count > 0)
        {
            text += " headers[" + string.Join(", ", match.Headers.Select(HeaderMatching.Describe)) + "]";
        }
        if (match.QueryParameters.Count > 0)
        {
            text += " query[" + string.Join(", ", match.QueryParameters.Select(q => q.Name)) + "]";
        }
        return text;
    }

    private static (int Status, string Location) DescribeRedirect(RedirectAction redirect, RouteMatch match, SimulatedCall call, Dictionary<string, string> headers)
    {
        var status = redirect.ResponseCode switch
        {
            RedirectAction.Types.RedirectResponseCode.Found => 302,
            RedirectAction.Types.RedirectResponseCode.SeeOther => 303,
            RedirectAction.Types.RedirectResponseCode.TemporaryRedirect => 307,
            RedirectAction.Types.RedirectResponseCode.PermanentRedirect => 308,
            _ => 301,
        };
        var scheme = redirect.SchemeRewriteSpecifierCase switch
        {
            RedirectAction.SchemeRewriteSpecifierOneofCase.HttpsRedirect when redirect.HttpsRedirect => "https",
            RedirectAction.SchemeRewriteSpecifierOneofCase.SchemeRedirect => redirect.SchemeRedirect,
            _ => headers[":scheme"],
        };
        var host = redirect.HostRedirect.Length > 0 ? redirect.HostRedirect : SimulatedCall.StripPort(headers[":authority"]);
        if (redirect.PortRedirect != 0)
        {
            host += ":" + redirect.PortRedirect.ToString(CultureInfo.InvariantCulture);
        }
        var path = redirect.PathRewriteSpecifierCase switch
        {
            RedirectAction.PathRewriteSpecifierOneofCase.PathRedirect => redirect.PathRedirect,
            RedirectAction.PathRewriteSpecifierOneofCase.PrefixRewrite when match.PathSpecifierCase == RouteMatch.PathSpecifierOneofCase.Prefix =>
                redirect.PrefixRewrite + call.Path[match.Prefix.Length..],
            _ => call.Path,
        };
        if (redirect.StripQuery && path.IndexOf('?', StringComparison.Ordinal) is var q and >= 0)
        {
            path = path[..q];
        }
        return (status, $"{scheme}://{host}{path}");
    }
}
