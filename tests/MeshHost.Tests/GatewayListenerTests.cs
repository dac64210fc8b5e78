using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Generation;
using MeshHost.Model;

namespace MeshHost.Tests;

public class GatewayListenerTests
{
    private const string Mesh = ListenerMesh.Yaml + """

        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: bookinfo-gateway, namespace: bookinfo}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}
            hosts: ["*"]
          - port: {number: 443, name: https, protocol: HTTPS}
            hosts: ["bookinfo/reviews.example.com"]
            tls: {mode: SIMPLE, credentialName: reviews-cert}
          - port: {number: 443, name: https-ratings, protocol: HTTPS}
            hosts: ["ratings.example.com"]
            tls: {mode: MUTUAL, credentialName: ratings-cert}
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: second, namespace: bookinfo}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http2, protocol: HTTP, targetPort: 8080}
            hosts: ["other.example.com"]
        """;

    private static Proxy Ingress => MeshFixture.Proxy("10.1.0.50", "ingress-7d", "istio-system",
        new Dictionary<string, string> { ["istio"] = "ingressgateway" }, type: "router");

    [Fact]
    public async Task Http_servers_on_one_port_merge_into_one_listener_with_the_gateway_rds_name()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var set = ListenerBuilder.Build(context, Ingress);
        Assert.Equal(["0.0.0.0_443", "0.0.0.0_8080"], set.Listeners.Select(l => l.Name));
        var listener = ListenerMesh.Named(set, "0.0.0.0_8080");
        Assert.NotEqual(false, listener.BindToPort);
        Assert.Equal(8080u, listener.Address.SocketAddress.PortValue);
        var hcm = ListenerMesh.Hcm(Assert.Single(listener.FilterChains));
        Assert.Equal("http.8080", hcm.Rds.RouteConfigName);
        Assert.True(hcm.UseRemoteAddress);
        Assert.Equal("outbound_0.0.0.0_8080;", hcm.StatPrefix);
        Assert.Equal("envoy.filters.http.router", hcm.HttpFilters[^1].Name);
        Assert.Contains("http.8080", set.RouteNames);
    }

    [Fact]
    public async Task Https_simple_terminates_with_the_credential_over_sds_and_matches_the_hosts_as_sni()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var set = ListenerBuilder.Build(context, Ingress);
        var listener = ListenerMesh.Named(set, "0.0.0.0_443");
        Assert.Contains(listener.ListenerFilters, f => f.Name == "envoy.filters.listener.tls_inspector");
        Assert.Equal(2, listener.FilterChains.Count);

        var simple = listener.FilterChains[0];
        Assert.Equal(["reviews.example.com"], simple.FilterChainMatch.ServerNames);
        var tls = simple.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        Assert.Equal("kubernetes://reviews-cert", tls.CommonTlsContext.TlsCertificateSdsSecretConfigs[0].Name);
        Assert.NotNull(tls.CommonTlsContext.TlsCertificateSdsSecretConfigs[0].SdsConfig.Ads);
        Assert.False(tls.RequireClientCertificate ?? false);
        Assert.Equal(["h2", "http/1.1"], tls.CommonTlsContext.AlpnProtocols);
        Assert.Equal("https.443.https.bookinfo-gateway.bookinfo", ListenerMesh.Hcm(simple).Rds.RouteConfigName);

        var mutual = listener.FilterChains[1].TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        Assert.True(mutual.RequireClientCertificate);
        Assert.Equal("kubernetes://ratings-cert-cacert", mutual.CommonTlsContext.CombinedValidationContext.ValidationContextSdsSecretConfig.Name);
        Assert.Contains("https.443.https-ratings.bookinfo-gateway.bookinfo", set.RouteNames);
    }

    [Fact]
    public async Task Passthrough_routes_by_sni_to_the_virtual_service_destination()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: tls-gw, namespace: bookinfo}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 443, name: tls, protocol: TLS}
                hosts: ["*.example.com"]
                tls: {mode: PASSTHROUGH}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: mysql-tls, namespace: bookinfo}
            spec:
              hosts: ["db.example.com"]
              gateways: ["tls-gw"]
              tls:
              - match: [{port: 443, sniHosts: ["db.example.com"]}]
                route: [{destination: {host: mysql}}]
            """);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, Ingress), "0.0.0.0_443");
        var chain = Assert.Single(listener.FilterChains);
        Assert.Equal(["db.example.com"], chain.FilterChainMatch.ServerNames);
        Assert.Equal("outbound|3306||mysql.bookinfo.svc.cluster.local", ListenerMesh.Tcp(chain).Cluster);
        Assert.Null(chain.TransportSocket);
    }

    [Fact]
    public async Task Unsupported_and_conflicting_servers_are_reported_and_skipped()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: odd, namespace: bookinfo}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 443, name: https, protocol: HTTPS}
                hosts: ["a.example.com"]
                tls: {mode: SIMPLE}
              - port: {number: 9000, name: tcp, protocol: TCP}
                hosts: ["*"]
              - port: {number: 80, name: http, protocol: HTTP}
                hosts: ["*"]
              - port: {number: 80, name: https-80, protocol: HTTPS}
                hosts: ["*"]
                tls: {mode: SIMPLE, credentialName: c}
            """);
        var set = ListenerBuilder.Build(context, Ingress);
        Assert.Equal(["0.0.0.0_80"], set.Listeners.Select(l => l.Name));
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.servers[0].tls.credentialName", StringComparison.Ordinal));
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.servers[1]: protocol TCP", StringComparison.Ordinal));
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.servers[3]: port 80 already has plaintext", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_gateway_without_matching_gateways_has_no_listeners()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var other = MeshFixture.Proxy("10.1.0.51", "egress-1", "istio-system", new Dictionary<string, string> { ["istio"] = "egressgateway" }, type: "router");
        var set = ListenerBuilder.Build(context, other);
        Assert.Empty(set.Listeners);
        Assert.Empty(set.RouteNames);
    }
}
