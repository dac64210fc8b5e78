using Envoy.Config.Rbac.V3;
using MeshHost.Generation;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;

namespace MeshHost.Tests;

public class RbacTests
{
    private static async Task<(PushContext Context, List<string> Filters, List<HttpRbac> Rbac)> InboundHttpAsync(string policies)
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + "\n---\n" + policies);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        var hcm = ListenerMesh.Hcm(listener.FilterChains.First(c => c.Name == "0.0.0.0_8080"));
        return (context, hcm.HttpFilters.Select(f => f.Name).ToList(),
            hcm.HttpFilters.Where(f => f.Name == "envoy.filters.http.rbac").Select(f => f.TypedConfig.Unpack<HttpRbac>()).ToList());
    }

    [Fact]
    public async Task Without_a_policy_there_is_no_rbac_filter()
    {
        var (_, filters, _) = await InboundHttpAsync("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: bookinfo}
            """);
        Assert.DoesNotContain("envoy.filters.http.rbac", filters);
    }

    [Fact]
    public async Task An_allow_policy_translates_principals_namespaces_paths_methods_and_ports()
    {
        var (_, filters, rbac) = await InboundHttpAsync("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: reviews-viewer, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: reviews}}
              action: ALLOW
              rules:
              - from:
                - source:
                    principals: ["cluster.local/ns/bookinfo/sa/productpage"]
                    namespaces: ["bookinfo"]
                to:
                - operation:
                    methods: ["GET"]
                    paths: ["/reviews/*", "*/health", "/exact"]
                    ports: ["8080"]
            """);
        Assert.Equal(["envoy.filters.http.rbac", "envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"], filters);
        var rules = Assert.Single(rbac).Rules;
        Assert.Equal(RBAC.Types.Action.Allow, rules.Action);
        var policy = Assert.Single(rules.Policies);
        Assert.Equal("ns[bookinfo]-policy[reviews-viewer]-rule[0]", policy.Key);

        var ids = Assert.Single(policy.Value.Principals).AndIds.Ids;
        Assert.Equal("spiffe://cluster.local/ns/bookinfo/sa/productpage", ids[0].OrIds.Ids[0].Authenticated.PrincipalName.Exact);
        Assert.Equal(".*/ns/bookinfo/.*", ids[1].OrIds.Ids[0].Authenticated.PrincipalName.SafeRegex.Regex);

        var rulesOfTo = Assert.Single(policy.Value.Permissions).AndRules.Rules;
        var method = rulesOfTo[0].OrRules.Rules[0].Header;
        Assert.Equal(":method", method.Name);
        Assert.Equal("GET", method.StringMatch.Exact);
        var paths = rulesOfTo[1].OrRules.Rules.Select(r => r.UrlPath.Path).ToList();
        Assert.Equal("/reviews/", paths[0].Prefix);
        Assert.Equal("/health", paths[1].Suffix);
        Assert.Equal("/exact", paths[2].Exact);
        Assert.Equal(8080u, rulesOfTo[2].OrRules.Rules[0].DestinationPort);
    }

    [Fact]
    public async Task Deny_policies_come_first_in_their_own_filter_and_negations_become_not_rules()
    {
        var (_, _, rbac) = await InboundHttpAsync("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: allow-all, namespace: bookinfo}
            spec:
              rules: [{}]
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-delete, namespace: istio-system}
            spec:
              action: DENY
              rules:
              - from: [{source: {notNamespaces: ["bookinfo"]}}]
                to: [{operation: {methods: ["DELETE"], notPaths: ["/public/*"]}}]
            """);
        Assert.Equal(2, rbac.Count);
        Assert.Equal(RBAC.Types.Action.Deny, rbac[0].Rules.Action);
        Assert.Equal(RBAC.Types.Action.Allow, rbac[1].Rules.Action);
        var deny = rbac[0].Rules.Policies["ns[istio-system]-policy[no-delete]-rule[0]"];
        var notNs = deny.Principals[0].AndIds.Ids[0].NotId;
        Assert.Equal(".*/ns/bookinfo/.*", notNs.OrIds.Ids[0].Authenticated.PrincipalName.SafeRegex.Regex);
        var notPath = deny.Permissions[0].AndRules.Rules[1].NotRule;
        Assert.Equal("/public/", notPath.OrRules.Rules[0].UrlPath.Path.Prefix);
        // rules: [{}] allows everything.
        var allow = rbac[1].Rules.Policies["ns[bookinfo]-policy[allow-all]-rule[0]"];
        Assert.True(allow.Principals[0].AndIds.Ids[0].Any);
        Assert.True(allow.Permissions[0].AndRules.Rules[0].Any);
    }

    [Fact]
    public async Task An_allow_policy_without_rules_denies_everything()
    {
        var (_, _, rbac) = await InboundHttpAsync("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: allow-nothing, namespace: bookinfo}
            spec: {}
            """);
        var rules = Assert.Single(rbac).Rules;
        Assert.Equal(RBAC.Types.Action.Allow, rules.Action);
        var policy = rules.Policies["ns[bookinfo]-policy[allow-nothing]-rule[0]"];
        Assert.True(policy.Principals[0].NotId.Any);
        Assert.True(policy.Permissions[0].NotRule.Any);
    }

    [Fact]
    public async Task Policies_of_other_namespaces_or_selectors_do_not_apply()
    {
        var (_, filters, _) = await InboundHttpAsync("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: elsewhere, namespace: default}
            spec: {}
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: ratings-only, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: ratings}}
            """);
        Assert.DoesNotContain("envoy.filters.http.rbac", filters);
    }

    [Fact]
    public async Task Unsupported_actions_and_keys_are_reported_an_allow_rule_using_them_is_dropped()
    {
        var (context, _, rbac) = await InboundHttpAsync("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: audit, namespace: bookinfo}
            spec: {action: AUDIT, rules: [{}]}
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: jwt, namespace: bookinfo}
            spec:
              rules:
              - when: [{key: "request.auth.claims[iss]", values: ["me"]}]
              - from: [{source: {ipBlocks: ["10.0.0.0/8"]}}]
                when: [{key: source.ip, values: ["10.1.0.0/16"]}]
            """);
        Assert.Contains(context.Problems, p => p.Key.Name == "audit" && p.Reason.StartsWith("spec.action", StringComparison.Ordinal));
        Assert.Contains(context.Problems, p => p.Key.Name == "jwt" && p.Reason.Contains("request.auth.claims[iss]", StringComparison.Ordinal));
        var policies = Assert.Single(rbac).Rules.Policies;
        var policy = Assert.Single(policies);
        Assert.Equal("ns[bookinfo]-policy[jwt]-rule[1]", policy.Key);
        var ids = policy.Value.Principals[0].AndIds.Ids;
        Assert.Equal("10.0.0.0", ids[0].OrIds.Ids[0].DirectRemoteIp.AddressPrefix);
        Assert.Equal(8u, ids[0].OrIds.Ids[0].DirectRemoteIp.PrefixLen);
        Assert.Equal(16u, ids[1].OrIds.Ids[0].DirectRemoteIp.PrefixLen);
    }

    [Fact]
    public async Task Tcp_chains_get_a_network_rbac_filter_without_the_http_only_rules()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: mysql, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: mysql}}
              rules:
              - to: [{operation: {methods: ["GET"]}}]
              - from: [{source: {principals: ["cluster.local/ns/bookinfo/sa/reviews"]}}]
                to: [{operation: {ports: ["3306"]}}]
            """);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Mysql), "virtualInbound");
        var chain = listener.FilterChains.First(c => c.Name == "0.0.0.0_3306");
        Assert.Equal(["envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy"], chain.Filters.Select(f => f.Name));
        var rbac = chain.Filters[0].TypedConfig.Unpack<NetworkRbac>();
        Assert.Equal(["ns[bookinfo]-policy[mysql]-rule[1]"], rbac.Rules.Policies.Keys);
        Assert.DoesNotContain(context.Problems, p => p.Key.Name == "mysql");
    }
}
