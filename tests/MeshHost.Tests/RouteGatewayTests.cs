using Envoy.Config.Route.V3;
using MeshHost.Generation;
using MeshHost.Model;
using static MeshHost.Tests.RouteBuilderTests;

namespace MeshHost.Tests;

/// <summary>Gateway route configurations: VirtualServices bound to the Gateways that select the proxy.</summary>
public class RouteGatewayTests
{
    private const string Gateways = """

        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: ingress, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: [bookinfo.example.com, "*.example.org", "frontend/*.internal"]
          - port: {number: 443, name: https, protocol: HTTPS}
            hosts: [secure.example.com]
            tls: {mode: SIMPLE, credentialName: secure-cert}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: bookinfo, namespace: bookinfo}
        spec:
          hosts: [bookinfo.example.com, secure.example.com]
          gateways: [istio-system/ingress]
          http:
          - match: [{gateways: [mesh], uri: {prefix: /mesh-only}}]
            route: [{destination: {host: ratings}}]
          - match: [{uri: {prefix: /reviews}}]
            route: [{destination: {host: reviews}}]
          - match: [{uri: {prefix: /pp}}]
            route: [{destination: {host: productpage.frontend.svc.cluster.local}}]
          - route: [{destination: {host: productpage.frontend.svc.cluster.local, port: {number: 9080}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: site, namespace: frontend}
        spec:
          hosts: [a.example.org, b.example.org, api.internal]
          gateways: [istio-system/ingress]
          http: [{route: [{destination: {host: productpage, port: {number: 9080}}}]}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: sneaky, namespace: bookinfo}
        spec:
          hosts: [admin.internal]
          gateways: [istio-system/ingress]
          http: [{route: [{destination: {host: reviews}}]}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: status, namespace: istio-system}
        spec:
          hosts: [status.example.org]
          gateways: [ingress]
          http: [{directResponse: {status: 200, body: {string: ok}}}]
        """;

    private static Proxy Ingress(string labelValue = "ingressgateway") =>
        MeshFixture.Proxy("10.1.0.50", "ingress-1", "istio-system", new Dictionary<string, string> { ["istio"] = labelValue }, type: "router");

    [Fact]
    public async Task Virtual_services_bound_to_the_gateway_become_virtual_hosts_of_the_intersecting_hosts()
    {
        var context = await MeshFixture.LoadAsync(Mesh + Gateways);
        var config = RouteBuilder.Build(context, Ingress(), "http.80");
        Assert.NotNull(config);
        Assert.Equal("http.80", config.Name);
        Assert.False(config.ValidateClusters);
        Assert.True(config.IgnorePortInHostMatching);
        // "*.internal" is only for VirtualServices in frontend: bookinfo's admin.internal is not bound. The site
        // VirtualService's hosts share their routes, so they collapse into one virtual host named after the first in
        // istiod's host order (longest first).
        Assert.Equal(["a.example.org:80", "bookinfo.example.com:80", "status.example.org:80"], config.VirtualHosts.Select(v => v.Name));
        Assert.Equal(["a.example.org", "b.example.org", "api.internal"], Host(config, "a.example.org:80").Domains);
        Assert.DoesNotContain(config.VirtualHosts.SelectMany(v => v.Domains), d => d == "admin.internal");
        Assert.Equal(["bookinfo.example.com"], Host(config, "bookinfo.example.com:80").Domains);

        var routes = Host(config, "bookinfo.example.com:80").Routes;
        // The mesh-only match is left out; a service with one port decides the port, one with two does not (the
        // server's port is used, as istiod does).
        Assert.Equal(
            [$"outbound|9080||{ReviewsFqdn}", "outbound|80||productpage.frontend.svc.cluster.local", "outbound|9080||productpage.frontend.svc.cluster.local"],
            routes.Select(r => r.Route_.Cluster));
        Assert.Equal("/reviews", routes[0].Match.Prefix);
        Assert.Equal(200u, Assert.Single(Host(config, "status.example.org:80").Routes).DirectResponse.Status);
        Assert.Empty(context.Problems);
    }

    [Fact]
    public async Task A_terminating_https_server_has_its_own_route_name()
    {
        var context = await MeshFixture.LoadAsync(Mesh + Gateways);
        var config = RouteBuilder.Build(context, Ingress(), "https.443.https.ingress.istio-system")!;
        var vhost = Assert.Single(config.VirtualHosts);
        Assert.Equal("secure.example.com:443", vhost.Name);
        Assert.Equal(3, vhost.Routes.Count);
        Assert.True(config.VirtualHosts.All(v => v.Name != "bookinfo.example.com:443"));
        Assert.Empty(RouteBuilder.Build(context, Ingress(), "https.443.https.other-gateway.istio-system")!.VirtualHosts);
    }

    [Fact]
    public async Task A_gateway_without_bound_virtual_services_answers_404_and_https_redirect_requires_tls()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: empty, namespace: istio-system}
            spec:
              selector: {istio: empty}
              servers:
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: [nothing.example.com]
              - port: {number: 8081, name: http-redirect, protocol: HTTP}
                hosts: [moved.example.com]
                tls: {httpsRedirect: true}
            """);
        var blackhole = RouteBuilder.Build(context, Ingress("empty"), "http.8080")!;
        var vhost = Assert.Single(blackhole.VirtualHosts);
        Assert.Equal("blackhole:8080", vhost.Name);
        Assert.Equal(["*"], vhost.Domains);
        Assert.Empty(vhost.Routes);

        var redirect = Assert.Single(RouteBuilder.Build(context, Ingress("empty"), "http.8081")!.VirtualHosts);
        Assert.Equal("moved.example.com:8081", redirect.Name);
        Assert.Equal(VirtualHost.Types.TlsRequirementType.All, redirect.RequireTls);
    }

    [Fact]
    public async Task A_proxy_no_gateway_selects_gets_an_empty_route_and_sidecar_names_mean_nothing_to_a_gateway()
    {
        var context = await MeshFixture.LoadAsync(Mesh + Gateways);
        var other = RouteBuilder.Build(context, Ingress("someone-else"), "http.80")!;
        Assert.Empty(other.VirtualHosts);
        Assert.Null(RouteBuilder.Build(context, Ingress(), "9080"));
    }
}
