using Envoy.Config.Listener.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Generation;
using MeshHost.Model;

namespace MeshHost.Tests;

public class PeerAuthenticationTests
{
    private static async Task<(PushContext Context, List<FilterChain> Chains)> ChainsAsync(string policies, string chain = "0.0.0.0_8080")
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + "\n---\n" + policies);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        return (context, listener.FilterChains.Where(c => c.Name == chain).ToList());
    }

    [Fact]
    public async Task Strict_refuses_plaintext_the_only_chain_requires_a_client_certificate()
    {
        var (_, chains) = await ChainsAsync("""
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec: {mtls: {mode: STRICT}}
            """);
        var chain = Assert.Single(chains);
        Assert.Equal("tls", chain.FilterChainMatch.TransportProtocol);
        Assert.Empty(chain.FilterChainMatch.ApplicationProtocols); // istiod: strict HTTP chains match any ALPN over TLS
        var tls = chain.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        Assert.Equal("envoy.transport_sockets.tls", chain.TransportSocket.Name);
        Assert.True(tls.RequireClientCertificate);
        Assert.Equal(["h2", "http/1.1"], tls.CommonTlsContext.AlpnProtocols);
        var cert = Assert.Single(tls.CommonTlsContext.TlsCertificateSdsSecretConfigs);
        Assert.Equal("default", cert.Name);
        Assert.Equal("sds-grpc", cert.SdsConfig.ApiConfigSource.GrpcServices[0].EnvoyGrpc.ClusterName);
        Assert.Equal("ROOTCA", tls.CommonTlsContext.CombinedValidationContext.ValidationContextSdsSecretConfig.Name);
    }

    [Fact]
    public async Task Strict_tcp_chains_offer_the_peer_exchange_alpn()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: bookinfo}
            spec: {mtls: {mode: STRICT}}
            """);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Mysql), "virtualInbound");
        var chain = Assert.Single(listener.FilterChains, c => c.Name == "0.0.0.0_3306");
        var tls = chain.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        Assert.Equal(["istio-peer-exchange", "h2", "http/1.1"], tls.CommonTlsContext.AlpnProtocols);
    }

    [Fact]
    public async Task Permissive_is_the_default_and_takes_both_mutual_tls_and_plaintext()
    {
        var (_, chains) = await ChainsAsync("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: bookinfo}
            """);
        Assert.Equal(2, chains.Count);
        Assert.Equal("tls", chains[0].FilterChainMatch.TransportProtocol);
        Assert.Equal(["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"], chains[0].FilterChainMatch.ApplicationProtocols);
        Assert.NotNull(chains[0].TransportSocket);
        Assert.Equal("raw_buffer", chains[1].FilterChainMatch.TransportProtocol);
        Assert.Null(chains[1].TransportSocket);
    }

    [Fact]
    public async Task Disable_serves_plaintext_only()
    {
        var (_, chains) = await ChainsAsync("""
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: reviews}}
              mtls: {mode: DISABLE}
            """);
        var chain = Assert.Single(chains);
        Assert.Equal("raw_buffer", chain.FilterChainMatch.TransportProtocol);
        Assert.Null(chain.TransportSocket);
    }

    [Fact]
    public async Task The_most_specific_policy_wins_and_unset_inherits()
    {
        var yaml = """
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec: {mtls: {mode: STRICT}}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: bookinfo}
            spec: {mtls: {mode: DISABLE}}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: reviews}}
              mtls: {mode: UNSET}
            """;
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + "\n---\n" + yaml);
        Assert.Equal(MtlsMode.Disable, AuthnPolicy.For(context, ListenerMesh.Reviews).Mode);
        var other = MeshFixture.Proxy("10.1.5.5", "x", "default");
        Assert.Equal(MtlsMode.Strict, AuthnPolicy.For(context, other).Mode);
    }

    [Fact]
    public async Task Port_level_mtls_overrides_the_workload_mode_for_that_target_port()
    {
        var (context, chains) = await ChainsAsync("""
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              selector: {matchLabels: {app: reviews}}
              mtls: {mode: DISABLE}
              portLevelMtls:
                "8080": {mode: STRICT}
                "9999": {mode: STRICT}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: ns-wide, namespace: bookinfo}
            spec:
              portLevelMtls:
                "8080": {mode: DISABLE}
            """);
        var chain = Assert.Single(chains);
        Assert.Equal("tls", chain.FilterChainMatch.TransportProtocol);
        // The passthrough chains of an undeclared port-level port follow its mode too.
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        var port9999 = listener.FilterChains.Where(c => c.FilterChainMatch?.DestinationPort == 9999).ToList();
        Assert.NotEmpty(port9999);
        Assert.All(port9999, c => Assert.Equal("tls", c.FilterChainMatch.TransportProtocol));
        var passthroughAnyPort = listener.FilterChains.Where(c => c.Name == "virtualInbound" && c.FilterChainMatch.DestinationPort is null);
        Assert.All(passthroughAnyPort, c => Assert.Equal("raw_buffer", c.FilterChainMatch.TransportProtocol));
        Assert.Contains(context.Problems, p => p.Key.Name == "ns-wide" && p.Reason.StartsWith("spec.portLevelMtls", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_mode_is_reported_and_inherits()
    {
        var (context, chains) = await ChainsAsync("""
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: bookinfo}
            spec: {mtls: {mode: SOMETIMES}}
            """);
        Assert.Equal(2, chains.Count);
        Assert.Contains(context.Problems, p => p.Reason.Contains("SOMETIMES", StringComparison.Ordinal));
        Assert.Equal(MeshNames.InboundCluster(8080), ListenerMesh.Hcm(chains[1]).RouteConfig.VirtualHosts[0].Routes[0].Route_.Cluster);
    }
}
