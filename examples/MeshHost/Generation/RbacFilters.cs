using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Rbac.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;
using HeaderMatcher = Envoy.Config.Route.V3.HeaderMatcher;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;
using RbacRules = Envoy.Config.Rbac.V3.RBAC;

namespace MeshHost.Generation;

/// <summary>
/// AuthorizationPolicy translated into Envoy RBAC filters as istiod does (pilot/pkg/security/authz in istio, read for
/// the facts only): one filter per action, DENY before ALLOW, one Envoy policy per rule named
/// <c>ns[&lt;ns&gt;]-policy[&lt;name&gt;]-rule[&lt;i&gt;]</c>; each <c>from</c> a principal and each <c>to</c> a permission
/// (AND of its fields, each field an OR of its values, <c>not*</c> fields negated); <c>when</c> conditions join every
/// principal (source keys) or permission (destination keys). A policy with no rules matches nothing (so an ALLOW
/// policy with no rules, e.g. <c>spec: {}</c>, denies every request); a rule with neither from nor to matches all.
/// </summary>
/// <remarks>
/// Differences from istiod, chosen for a plain Envoy without Istio's filters: peer identities are matched with
/// <c>authenticated.principal_name</c> (istiod's older translation; its newer one reads the <c>istio_authn</c>
/// filter's metadata); <c>:method</c> and <c>when</c> header conditions use <c>string_match</c> on the whole
/// header value. JWT fields (<c>requestPrincipals</c>, <c>request.auth.*</c>), path templates and other
/// <c>when</c> keys are reported; a rule using one is dropped from an ALLOW policy (it can allow less, never more)
/// and loses just that field in a DENY policy (it can deny more, never less). On TCP chains the HTTP-only fields
/// make an ALLOW rule drop out and are left out of a DENY rule, as istiod does. AUDIT and CUSTOM policies and
/// <c>targetRef(s)</c> are reported and skipped.
/// </remarks>
public static class RbacFilters
{
    private enum Action
    {
        Allow,
        Deny,
    }

    /// <summary>The HTTP RBAC filters for <paramref name="proxy"/> (DENY first, then ALLOW); empty when no
    /// AuthorizationPolicy applies. Translated once per (namespace, labels); each call returns fresh copies, so
    /// callers may change what they get.</summary>
    public static IReadOnlyList<HttpFilter> Http(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var filters = context.Memo("rbac-http|" + ScopeKey(proxy), c =>
            (IReadOnlyList<HttpFilter>)[.. Build(c, proxy, forTcp: false).Select(r => new HttpFilter
            {
                Name = ListenerParts.HttpRbacName,
                TypedConfig = Any.Pack(new HttpRbac { Rules = r }),
            })]);
        return [.. filters.Select(f => f.Clone())];
    }

    /// <summary>The network RBAC filters for <paramref name="proxy"/>'s TCP chains (DENY first, then ALLOW).</summary>
    public static IReadOnlyList<Filter> Network(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var filters = context.Memo("rbac-tcp|" + ScopeKey(proxy), c =>
            (IReadOnlyList<Filter>)[.. Build(c, proxy, forTcp: true).Select(r =>
                ListenerParts.NetworkFilter(ListenerParts.NetworkRbacName, new NetworkRbac { Rules = r, StatPrefix = "tcp." }))]);
        return [.. filters.Select(f => f.Clone())];
    }

    private static string ScopeKey(Proxy proxy) =>
        proxy.Namespace + "|" + string.Join(",", proxy.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));

    /// <summary>The AuthorizationPolicies that apply to a workload: those of its namespace and of the root
    /// namespace whose selector is empty or matches its labels.</summary>
    public static IReadOnlyList<(ConfigObject Object, AuthorizationPolicySpec Spec)> Applying(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var result = new List<(ConfigObject, AuthorizationPolicySpec)>();
        foreach (var (obj, spec) in context.Configs<AuthorizationPolicySpec>(IstioKinds.AuthorizationPolicy))
        {
            if (obj.Key.Namespace != proxy.Namespace && obj.Key.Namespace != context.Options.RootNamespace)
            {
                continue;
            }
            if (spec.TargetRef is { ValueKind: not System.Text.Json.JsonValueKind.Null } || spec.TargetRefs.Count > 0)
            {
                context.Report(obj.Key, "spec.targetRef(s): policies attached to Gateway API targets are not supported; skipped");
                continue;
            }
            if (PushContext.Matches(spec.Selector?.MatchLabels, proxy.Labels))
            {
                result.Add((obj, spec));
            }
        }
        return result;
    }

    private static List<RbacRules> Build(PushContext context, Proxy proxy, bool forTcp)
    {
        var deny = new RbacRules { Action = RbacRules.Types.Action.Deny };
        var allow = new RbacRules { Action = RbacRules.Types.Action.Allow };
        foreach (var (obj, spec) in Applying(context, proxy))
        {
            Action action;
            switch (spec.Action?.ToUpperInvariant())
            {
                case null or "" or "ALLOW":
                    action = Action.Allow;
                    break;
                case "DENY":
                    action = Action.Deny;
                    break;
                default:
                    context.Report(obj.Key, $"spec.action: {spec.Action} is not supported (only ALLOW and DENY); skipped");
                    continue;
            }
            var target = action == Action.Deny ? deny : allow;
            var prefix = $"ns[{obj.Key.Namespace}]-policy[{obj.Key.Name}]-rule[";
            if (spec.Rules.Count == 0)
            {
                target.Policies[prefix + "0]"] = new Policy
                {
                    Permissions = { new Permission { NotRule = new Permission { Any = true } } },
                    Principals = { new Principal { NotId = new Principal { Any = true } } },
                };
                continue;
            }
            for (var i = 0; i < spec.Rules.Count; i++)
            {
                var translator = new RuleTranslator(context, obj, i, action, forTcp);
                if (translator.Translate(spec.Rules[i]) is { } policy)
                {
                    target.Policies[prefix + i.ToString(CultureInfo.InvariantCulture) + "]"] = policy;
                }
            }
        }
        return [.. new[] { deny, allow }.Where(r => r.Policies.Count > 0)];
    }

    /// <summary>Translates one rule; null when an ALLOW rule cannot be represented (it then allows nothing).</summary>
    private sealed class RuleTranslator(PushContext context, ConfigObject obj, int index, Action action, bool forTcp)
    {
        private bool _dropped;

        public Policy? Translate(AuthorizationRule rule)
        {
            var principalConditions = new List<Principal>();
            var permissionConditions = new List<Permission>();
            for (var w = 0; w < rule.When.Count; w++)
            {
                Condition(rule.When[w], $"spec.rules[{index}].when[{w}]", principalConditions, permissionConditions);
            }

            var principals = new List<Principal>();
            for (var f = 0; f < rule.From.Count; f++)
            {
                principals.Add(AndIds(Source(rule.From[f].Source, $"spec.rules[{index}].from[{f}].source"), principalConditions));
            }
            if (rule.From.Count == 0)
            {
                principals.Add(AndIds([], principalConditions));
            }

            var permissions = new List<Permission>();
            for (var t = 0; t < rule.To.Count; t++)
            {
                permissions.Add(AndRules(Operation(rule.To[t].Operation, $"spec.rules[{index}].to[{t}].operation"), permissionConditions));
            }
            if (rule.To.Count == 0)
            {
                permissions.Add(AndRules([], permissionConditions));
            }
            if (_dropped)
            {
                return null;
            }
            return new Policy { Principals = { principals }, Permissions = { permissions } };
        }

        /// <summary>A field MeshHost cannot translate (or, on TCP, an HTTP-only one): an ALLOW rule is dropped, a DENY
        /// rule loses the field. Only real gaps are reported; HTTP-only fields on TCP chains are expected.</summary>
        private void Unsupported(string field, string reason, bool report = true)
        {
            if (report)
            {
                context.Report(obj.Key, $"{field}: {reason}; " + (action == Action.Allow ? "the rule is dropped" : "the field is ignored"));
            }
            if (action == Action.Allow)
            {
                _dropped = true;
            }
        }

        private static Principal AndIds(List<Principal> ids, List<Principal> conditions)
        {
            var set = new Principal.Types.Set();
            set.Ids.AddRange(ids);
            set.Ids.AddRange(conditions);
            if (set.Ids.Count == 0)
            {
                set.Ids.Add(new Principal { Any = true });
            }
            return new Principal { AndIds = set };
        }

        private static Permission AndRules(List<Permission> rules, List<Permission> conditions)
        {
            var set = new Permission.Types.Set();
            set.Rules.AddRange(rules);
            set.Rules.AddRange(conditions);
            if (set.Rules.Count == 0)
            {
                set.Rules.Add(new Permission { Any = true });
            }
            return new Permission { AndRules = set };
        }

        private static Principal? OrIds(IEnumerable<Principal?> ids, bool negate)
        {
            var set = new Principal.Types.Set();
            set.Ids.AddRange(ids.OfType<Principal>());
            if (set.Ids.Count == 0)
            {
                return null;
            }
            var or = new Principal { OrIds = set };
            return negate ? new Principal { NotId = or } : or;
        }

        private static Permission? OrRules(IEnumerable<Permission?> rules, bool negate)
        {
            var set = new Permission.Types.Set();
            set.Rules.AddRange(rules.OfType<Permission>());
            if (set.Rules.Count == 0)
            {
                return null;
            }
            var or = new Permission { OrRules = set };
            return negate ? new Permission { NotRule = or } : or;
        }

        private List<Principal> Source(AuthorizationSource source, string path)
        {
            var ids = new List<Principal?>();
            void Add(List<string> values, bool negate, Func<string, Principal?> one)
            {
                if (values.Count > 0)
                {
                    ids.Add(OrIds(values.Select(one), negate));
                }
            }
            Add(source.Principals, false, PrincipalName);
            Add(source.NotPrincipals, true, PrincipalName);
            Add(source.ServiceAccounts, false, ServiceAccount);
            Add(source.NotServiceAccounts, true, ServiceAccount);
            if (source.RequestPrincipals.Count > 0 || source.NotRequestPrincipals.Count > 0)
            {
                Unsupported(path + ".requestPrincipals", "JWT (RequestAuthentication) is not supported");
            }
            Add(source.Namespaces, false, NamespaceOf);
            Add(source.NotNamespaces, true, NamespaceOf);
            Add(source.IpBlocks, false, v => Cidr(v, path + ".ipBlocks") is { } c ? new Principal { DirectRemoteIp = c } : null);
            Add(source.NotIpBlocks, true, v => Cidr(v, path + ".notIpBlocks") is { } c ? new Principal { DirectRemoteIp = c } : null);
            Add(source.RemoteIpBlocks, false, v => Cidr(v, path + ".remoteIpBlocks") is { } c ? new Principal { RemoteIp = c } : null);
            Add(source.NotRemoteIpBlocks, true, v => Cidr(v, path + ".notRemoteIpBlocks") is { } c ? new Principal { RemoteIp = c } : null);
            return [.. ids.OfType<Principal>()];
        }

        private List<Permission> Operation(AuthorizationOperation operation, string path)
        {
            var rules = new List<Permission?>();
            void Add(List<string> values, bool negate, Func<string, Permission?> one)
            {
                if (values.Count > 0)
                {
                    rules.Add(OrRules(values.Select(one), negate));
                }
            }
            void AddHttp(List<string> values, bool negate, string field, Func<string, Permission?> one)
            {
                if (values.Count == 0)
                {
                    return;
                }
                if (forTcp)
                {
                    Unsupported(path + "." + field, "HTTP only", report: false);
                    return;
                }
                Add(values, negate, one);
            }
            AddHttp(operation.Hosts, false, "hosts", v => new Permission { Header = HostMatcher(v) });
            AddHttp(operation.NotHosts, true, "notHosts", v => new Permission { Header = HostMatcher(v) });
            AddHttp(operation.Methods, false, "methods", v => new Permission { Header = Header(":method", v) });
            AddHttp(operation.NotMethods, true, "notMethods", v => new Permission { Header = Header(":method", v) });
            AddHttp(operation.Paths, false, "paths", v => Path(v, path + ".paths"));
            AddHttp(operation.NotPaths, true, "notPaths", v => Path(v, path + ".notPaths"));
            Add(operation.Ports, false, v => Port(v, path + ".ports"));
            Add(operation.NotPorts, true, v => Port(v, path + ".notPorts"));
            return [.. rules.OfType<Permission>()];
        }

        private void Condition(AuthorizationCondition condition, string path, List<Principal> principals, List<Permission> permissions)
        {
            var key = condition.Key;
            Func<string, Principal?>? principal = null;
            Func<string, Permission?>? permission = null;
            switch (key)
            {
                case "source.ip":
                    principal = v => Cidr(v, path) is { } c ? new Principal { DirectRemoteIp = c } : null;
                    break;
                case "remote.ip":
                    principal = v => Cidr(v, path) is { } c ? new Principal { RemoteIp = c } : null;
                    break;
                case "source.namespace":
                    principal = NamespaceOf;
                    break;
                case "source.principal":
                    principal = PrincipalName;
                    break;
                case "destination.ip":
                    permission = v => Cidr(v, path) is { } c ? new Permission { DestinationIp = c } : null;
                    break;
                case "destination.port":
                    permission = v => Port(v, path);
                    break;
                case "connection.sni":
                    permission = v => new Permission { RequestedServerName = StringMatcher(v) };
                    break;
                default:
                    if (key.StartsWith("request.headers[", StringComparison.Ordinal) && key.EndsWith(']') && key.Length > "request.headers[]".Length)
                    {
                        if (forTcp)
                        {
                            Unsupported(path, "HTTP only", report: false);
                            return;
                        }
                        var name = key["request.headers[".Length..^1];
                        principal = v => new Principal { Header = Header(name, v) };
                        break;
                    }
                    Unsupported(path + ".key", $"\"{key}\" is not supported");
                    return;
            }
            if (principal is not null)
            {
                if (OrIds(condition.Values.Select(principal), false) is { } yes)
                {
                    principals.Add(yes);
                }
                if (OrIds(condition.NotValues.Select(principal), true) is { } no)
                {
                    principals.Add(no);
                }
            }
            else if (permission is not null)
            {
                if (OrRules(condition.Values.Select(permission), false) is { } yes)
                {
                    permissions.Add(yes);
                }
                if (OrRules(condition.NotValues.Select(permission), true) is { } no)
                {
                    permissions.Add(no);
                }
            }
        }

        private Permission? Path(string value, string field)
        {
            if (value.Contains('{', StringComparison.Ordinal))
            {
                Unsupported(field, $"path template \"{value}\" is not supported");
                return null;
            }
            return new Permission { UrlPath = new PathMatcher { Path = StringMatcher(value) } };
        }

        private Permission? Port(string value, string field)
        {
            if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is 0 or > 65535)
            {
                Unsupported(field, $"\"{value}\" is not a port");
                return null;
            }
            return new Permission { DestinationPort = port };
        }

        private CidrRange? Cidr(string value, string field)
        {
            var slash = value.IndexOf('/', StringComparison.Ordinal);
            var ip = slash < 0 ? value : value[..slash];
            if (!IPAddress.TryParse(ip, out var address))
            {
                Unsupported(field, $"\"{value}\" is not an IP address or CIDR");
                return null;
            }
            var max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128u : 32u;
            var length = max;
            if (slash >= 0 && (!uint.TryParse(value[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
            {
                Unsupported(field, $"\"{value}\" has no valid prefix length");
                return null;
            }
            return new CidrRange { AddressPrefix = ip, PrefixLen = length };
        }

        private Principal PrincipalName(string value) =>
            new() { Authenticated = new Principal.Types.Authenticated { PrincipalName = StringMatcher(value, "spiffe://") } };

        private Principal ServiceAccount(string value)
        {
            var slash = value.IndexOf('/', StringComparison.Ordinal);
            var ns = slash < 0 ? obj.Key.Namespace : value[..slash];
            var sa = slash < 0 ? value : value[(slash + 1)..];
            return new() { Authenticated = new Principal.Types.Authenticated { PrincipalName = Regex($"spiffe://.+/ns/{ns}/(.+/|)sa/{sa}(/.+)?") } };
        }

        private static Principal NamespaceOf(string value) =>
            new() { Authenticated = new Principal.Types.Authenticated { PrincipalName = Regex($".*/ns/{value.Replace("*", ".*", StringComparison.Ordinal)}/.*") } };
    }

    private static StringMatcher Regex(string regex) => new() { SafeRegex = new RegexMatcher { Regex = regex } };

    /// <summary>istiod's string matcher of a policy value: <c>*</c> any non-empty value, <c>*x</c> suffix, <c>x*</c>
    /// prefix, else exact; <paramref name="prefix"/> (e.g. <c>spiffe://</c>) is prepended.</summary>
    private static StringMatcher StringMatcher(string value, string prefix = "")
    {
        if (value == "*")
        {
            return Regex(".+");
        }
        if (value.StartsWith('*'))
        {
            return prefix.Length == 0
                ? new StringMatcher { Suffix = value[1..] }
                : Regex(System.Text.RegularExpressions.Regex.Escape(prefix) + ".*" + System.Text.RegularExpressions.Regex.Escape(value[1..]));
        }
        if (value.EndsWith('*'))
        {
            return new StringMatcher { Prefix = prefix + value[..^1] };
        }
        return new StringMatcher { Exact = prefix + value };
    }

    private static HeaderMatcher Header(string name, string value) => value == "*"
        ? new HeaderMatcher { Name = name, PresentMatch = true }
        : new HeaderMatcher { Name = name, StringMatch = StringMatcher(value) };

    private static HeaderMatcher HostMatcher(string value)
    {
        if (value == "*")
        {
            return new HeaderMatcher { Name = ":authority", PresentMatch = true };
        }
        var matcher = value.StartsWith('*') ? new StringMatcher { Suffix = value[1..] }
            : value.EndsWith('*') ? new StringMatcher { Prefix = value[..^1] }
            : new StringMatcher { Exact = value };
        matcher.IgnoreCase = true;
        return new HeaderMatcher { Name = ":authority", StringMatch = matcher };
    }
}
