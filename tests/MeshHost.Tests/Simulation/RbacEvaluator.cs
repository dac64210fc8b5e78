using Envoy.Config.Rbac.V3;

namespace MeshHost.Tests.Simulation;

/// <summary>What RBAC sees of a connection or request; <paramref name="Headers"/> is null for the network filter
/// (no path, and header rules see no headers).</summary>
internal sealed record RbacRequest(SimulatedCall Call, Peer Peer, IReadOnlyDictionary<string, string>? Headers);

/// <summary>
/// Envoy's RBAC engine: a policy matches when any of its permissions and any of its principals match. ALLOW lets a
/// request through when some policy matches, DENY stops it when some policy matches, LOG never stops it. Policies
/// are tried in name order (Envoy's map has none; only the reported name depends on it). Metadata, filter_state,
/// CEL conditions and extension matchers are not simulated and never match.
/// </summary>
internal static class RbacEvaluator
{
    private static readonly Dictionary<string, string> NoHeaders = new(StringComparer.OrdinalIgnoreCase);

    public static RbacDecision Evaluate(string filter, RBAC rules, RbacRequest request)
    {
        string? matched = null;
        foreach (var (name, policy) in rules.Policies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (policy.Condition is null && policy.CheckedCondition is null
                && policy.Permissions.Any(p => Permits(p, request)) && policy.Principals.Any(p => Identifies(p, request)))
            {
                matched = name;
                break;
            }
        }
        var allowed = rules.Action switch
        {
            RBAC.Types.Action.Allow => matched is not null,
            RBAC.Types.Action.Deny => matched is null,
            _ => true,
        };
        return new RbacDecision(filter, rules.Action.ToString().ToUpperInvariant(), allowed, matched);
    }

    private static bool Permits(Permission permission, RbacRequest request)
    {
        var call = request.Call;
        return permission.RuleCase switch
        {
            Permission.RuleOneofCase.Any => permission.Any,
            Permission.RuleOneofCase.AndRules => permission.AndRules.Rules.All(r => Permits(r, request)),
            Permission.RuleOneofCase.OrRules => permission.OrRules.Rules.Any(r => Permits(r, request)),
            Permission.RuleOneofCase.NotRule => !Permits(permission.NotRule, request),
            Permission.RuleOneofCase.Header => HeaderMatching.Matches(permission.Header, request.Headers ?? NoHeaders),
            Permission.RuleOneofCase.UrlPath => request.Headers is not null && StringMatching.Matches(permission.UrlPath.Path, call.PathOnly),
            Permission.RuleOneofCase.DestinationIp => Cidr.Contains(permission.DestinationIp, call.Address),
            Permission.RuleOneofCase.DestinationPort => permission.DestinationPort == call.Port,
            Permission.RuleOneofCase.DestinationPortRange => call.Port >= permission.DestinationPortRange.Start && call.Port < permission.DestinationPortRange.End,
            Permission.RuleOneofCase.RequestedServerName => StringMatching.Matches(permission.RequestedServerName, call.EffectiveSni ?? string.Empty),
            _ => false,
        };
    }

    private static bool Identifies(Principal principal, RbacRequest request)
    {
        var call = request.Call;
        return principal.IdentifierCase switch
        {
            Principal.IdentifierOneofCase.Any => principal.Any,
            Principal.IdentifierOneofCase.AndIds => principal.AndIds.Ids.All(p => Identifies(p, request)),
            Principal.IdentifierOneofCase.OrIds => principal.OrIds.Ids.Any(p => Identifies(p, request)),
            Principal.IdentifierOneofCase.NotId => !Identifies(principal.NotId, request),
            // The peer certificate's URI SAN; without principal_name, any client certificate.
            Principal.IdentifierOneofCase.Authenticated => request.Peer.Principal is { } id
                && (principal.Authenticated.PrincipalName is null || StringMatching.Matches(principal.Authenticated.PrincipalName, id)),
#pragma warning disable CS0612 // source_ip is deprecated, still honoured by Envoy
            Principal.IdentifierOneofCase.SourceIp => Cidr.Contains(principal.SourceIp, call.SourceAddress),
#pragma warning restore CS0612
            Principal.IdentifierOneofCase.DirectRemoteIp => Cidr.Contains(principal.DirectRemoteIp, call.SourceAddress),
            Principal.IdentifierOneofCase.RemoteIp => Cidr.Contains(principal.RemoteIp, call.SourceAddress),
            Principal.IdentifierOneofCase.Header => HeaderMatching.Matches(principal.Header, request.Headers ?? NoHeaders),
            Principal.IdentifierOneofCase.UrlPath => request.Headers is not null && StringMatching.Matches(principal.UrlPath.Path, call.PathOnly),
            _ => false,
        };
    }
}
