using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Generation;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace MeshHost.Tests;

#pragma warning disable CS0612 // istiod fills the deprecated match_subject_alt_names; so do we, and so we read it

public class ClusterTlsTests
{
    private const string Host = ClusterManifests.ReviewsHost;

    private static async Task<IReadOnlyList<ClusterProto>> ClustersAsync(string trafficPolicy, MeshOptions? options = null)
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule(trafficPolicy), options);
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        Assert.Empty(context.Problems);
        return clusters;
    }

    private static void AssertAgentSecret(SdsSecretConfig secret, string name)
    {
        Assert.Equal(name, secret.Name);
        var source = secret.SdsConfig.ApiConfigSource;
        Assert.Equal(ApiConfigSource.Types.ApiType.Grpc, source.ApiType);
        Assert.Equal(ApiVersion.V3, source.TransportApiVersion);
        Assert.Equal("sds-grpc", Assert.Single(source.GrpcServices).EnvoyGrpc.ClusterName);
    }

    [Fact]
    public async Task Istio_mutual_uses_the_agent_secrets_the_mesh_sni_and_the_endpoints_service_accounts()
    {
        var clusters = await ClustersAsync("  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}");
        var cluster = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        Assert.Empty(cluster.TransportSocketMatches);
        var tls = ClusterManifests.Tls(cluster);
        Assert.Equal($"outbound_.9080_._.{Host}", tls.Sni);
        AssertAgentSecret(Assert.Single(tls.CommonTlsContext.TlsCertificateSdsSecretConfigs), "default");
        var validation = tls.CommonTlsContext.CombinedValidationContext;
        AssertAgentSecret(validation.ValidationContextSdsSecretConfig, "ROOTCA");
        // v1 and v2 run as bookinfo-reviews, v3 (not ready, still a workload of the service) as reviews-legacy.
        Assert.Equal(
            ["spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews", "spiffe://cluster.local/ns/bookinfo/sa/reviews-legacy"],
            validation.DefaultValidationContext.MatchSubjectAltNames.Select(m => m.Exact));
        Assert.Equal(["istio-peer-exchange", "istio"], tls.CommonTlsContext.AlpnProtocols);

        var subset = ClusterManifests.Tls(ClusterManifests.Named(clusters, $"outbound|9080|v1|{Host}"));
        Assert.Equal($"outbound_.9080_.v1_.{Host}", subset.Sni);
        var grpc = ClusterManifests.Tls(ClusterManifests.Named(clusters, $"outbound|9090||{Host}"));
        Assert.Equal(["istio-peer-exchange", "istio", "h2"], grpc.CommonTlsContext.AlpnProtocols);
    }

    [Fact]
    public async Task Istio_mutual_subject_alt_names_and_sni_of_the_rule_win()
    {
        var clusters = await ClustersAsync("  trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: reviews.example, subjectAltNames: [spiffe://other/ns/x/sa/y]}}");
        var tls = ClusterManifests.Tls(ClusterManifests.Named(clusters, $"outbound|9080||{Host}"));
        Assert.Equal("reviews.example", tls.Sni);
        Assert.Equal(["spiffe://other/ns/x/sa/y"], tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext.MatchSubjectAltNames.Select(m => m.Exact));
    }

    [Fact]
    public async Task Without_tls_settings_auto_mtls_adds_istiods_transport_socket_matches()
    {
        var clusters = await ClustersAsync(string.Empty);
        foreach (var name in new[] { $"outbound|9080||{Host}", $"outbound|9080|v2|{Host}" })
        {
            var cluster = ClusterManifests.Named(clusters, name);
            Assert.Null(cluster.TransportSocket);
            Assert.Equal(["tlsMode-istio", "tlsMode-disabled"], cluster.TransportSocketMatches.Select(m => m.Name));
            var istio = cluster.TransportSocketMatches[0];
            Assert.Equal("istio", istio.Match.Fields["tlsMode"].StringValue);
            var tls = istio.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
            Assert.Equal(name.Contains("|v2|", StringComparison.Ordinal) ? $"outbound_.9080_.v2_.{Host}" : $"outbound_.9080_._.{Host}", tls.Sni);
            var plain = cluster.TransportSocketMatches[1];
            Assert.Empty(plain.Match.Fields);
            Assert.Equal("envoy.transport_sockets.raw_buffer", plain.TransportSocket.Name);
        }
    }

    [Fact]
    public async Task Auto_mtls_off_in_the_mesh_leaves_clusters_plaintext()
    {
        var clusters = await ClustersAsync(string.Empty, new MeshOptions { AutoMutualTls = false });
        var cluster = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        Assert.Null(cluster.TransportSocket);
        Assert.Empty(cluster.TransportSocketMatches);
    }

    [Fact]
    public async Task Disable_turns_tls_off_and_a_subset_may_turn_it_back_on()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              host: reviews
              trafficPolicy: {tls: {mode: DISABLE}}
              subsets:
              - {name: v1, labels: {version: v1}, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
              - {name: v2, labels: {version: v2}}
            """);
        var clusters = ClusterBuilder.Build(context, ClusterManifests.Client());
        foreach (var name in new[] { $"outbound|9080||{Host}", $"outbound|9080|v2|{Host}" })
        {
            var cluster = ClusterManifests.Named(clusters, name);
            Assert.Null(cluster.TransportSocket);
            Assert.Empty(cluster.TransportSocketMatches);
        }
        Assert.Equal($"outbound_.9080_.v1_.{Host}", ClusterManifests.Tls(ClusterManifests.Named(clusters, $"outbound|9080|v1|{Host}")).Sni);
    }

    [Fact]
    public async Task Simple_tls_verifies_with_the_system_roots_and_auto_sni()
    {
        var clusters = await ClustersAsync("  trafficPolicy: {tls: {mode: SIMPLE}}");
        var cluster = ClusterManifests.Named(clusters, $"outbound|9080||{Host}");
        var tls = ClusterManifests.Tls(cluster);
        Assert.Empty(tls.Sni);
        Assert.Empty(tls.CommonTlsContext.TlsCertificateSdsSecretConfigs);
        AssertAgentSecret(tls.CommonTlsContext.CombinedValidationContext.ValidationContextSdsSecretConfig, "file-root:system");
        var upstream = ClusterManifests.HttpOptions(cluster)?.UpstreamHttpProtocolOptions;
        Assert.NotNull(upstream);
        Assert.True(upstream.AutoSni);
        Assert.True(upstream.AutoSanValidation);
    }

    [Fact]
    public async Task Mutual_tls_without_certificates_is_reported_and_left_out()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule("  trafficPolicy: {tls: {mode: MUTUAL}}"));
        var cluster = ClusterManifests.Named(ClusterBuilder.Build(context, ClusterManifests.Client()), $"outbound|9080||{Host}");
        Assert.Null(cluster.TransportSocket);
        Assert.Contains(context.Problems, p => p.Reason.Contains("clientCertificate", StringComparison.Ordinal));

        var withFiles = await ClustersAsync("  trafficPolicy: {tls: {mode: MUTUAL, clientCertificate: /certs/cert.pem, privateKey: /certs/key.pem, caCertificates: /certs/ca.pem}}");
        var tls = ClusterManifests.Tls(ClusterManifests.Named(withFiles, $"outbound|9080||{Host}"));
        AssertAgentSecret(Assert.Single(tls.CommonTlsContext.TlsCertificateSdsSecretConfigs), "file-cert:/certs/cert.pem~/certs/key.pem");
        AssertAgentSecret(tls.CommonTlsContext.CombinedValidationContext.ValidationContextSdsSecretConfig, "file-root:/certs/ca.pem");
    }
}
