using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Ca.Internal;
using XdsServer.Ca.Istio;
using XdsServer.Cache;
using XdsServer.Testing;
using static XdsServer.Ca.Tests.WorkloadSecretsServer;

namespace XdsServer.Ca.Tests;

/// <summary>
/// Issue 4 §3/§5 end to end: real xDS streams over TLS to a server wired with <c>AddWorkloadSecrets</c>. A stream
/// proves an identity (client certificate or bearer token), its node claims one, and it is served the SDS secrets of
/// that identity only; a stream authenticated as A never receives B's secrets.
/// </summary>
public sealed class WorkloadSecretsStreamTests
{
    private static readonly string[] SecretNames = [WorkloadSecretPublisher.DefaultSecretName, WorkloadSecretPublisher.RootCaSecretName];

    [Fact]
    public async Task Each_mtls_stream_gets_the_secrets_of_the_identity_it_proved_and_never_anothers()
    {
        await using var server = await StartAsync();
        await using var alpha = XdsProtocolClient.Open(server.Address, NodeClaiming(Alpha, "alpha-1"), options: server.Channel(server.ClientCertificate(Alpha)));
        await using var beta = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-1"), options: server.Channel(server.ClientCertificate(Beta)));

        var alphaSecrets = await SecretsAsync(alpha, "alpha's secrets");
        var betaSecrets = await SecretsAsync(beta, "beta's secrets");

        foreach (var (self, mine, theirs) in new[] { (Alpha, alphaSecrets, betaSecrets), (Beta, betaSecrets, alphaSecrets) })
        {
            var tls = mine[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate;
            using var leaf = X509Certificate2.CreateFromPem(tls.CertificateChain.InlineString);
            Assert.Equal([self.ToString()], SubjectAlternativeNames.ReadUris(leaf)!);
            using (var key = ECDsa.Create())
            {
                key.ImportFromPem(tls.PrivateKey.InlineString);
                using var paired = leaf.CopyWithPrivateKey(key); // throws unless the key is the certificate's
            }
            TestCa.Verify([tls.CertificateChain.InlineString, server.Ca.RootCertificatePem], DateTimeOffset.UtcNow).Dispose();
            Assert.Equal(server.Authority.TrustBundle.Pem, mine[WorkloadSecretPublisher.RootCaSecretName].ValidationContext.TrustedCa.InlineString);

            // Nothing of the other identity's certificate or key in what this stream received.
            var otherKey = theirs[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate.PrivateKey.InlineString;
            Assert.NotEqual(otherKey, tls.PrivateKey.InlineString);
            Assert.NotEqual(theirs[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate.CertificateChain.InlineString, tls.CertificateChain.InlineString);
        }
    }

    [Fact]
    public async Task A_stream_that_proves_alpha_but_claims_beta_is_refused_and_gets_nothing()
    {
        await using var server = await StartAsync();
        await using var impostor = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-impostor"), options: server.Channel(server.ClientCertificate(Alpha)));
        await impostor.SendAsync(TypeUrls.Secret, SecretNames);

        var status = await impostor.EndAsync("a refusal of a node claiming another identity");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains($"proved {Alpha}", status.Detail, StringComparison.Ordinal);
        Assert.Contains($"group '{Beta}'", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_claiming_an_identity_without_any_proof_is_refused_with_each_authenticators_reason()
    {
        await using var server = await StartAsync();
        await using var anonymous = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-anon"), options: server.Channel());
        await anonymous.SendAsync(TypeUrls.Secret, SecretNames);

        var status = await anonymous.EndAsync("a refusal of an unproven claim");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("client certificate: no client certificate was presented", status.Detail, StringComparison.Ordinal);
        Assert.Contains("bearer token: no authorization header", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_from_another_root_proves_nothing()
    {
        await using var server = await StartAsync();
        using var otherCa = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain });
        await using var forged = XdsProtocolClient.Open(server.Address, NodeClaiming(Alpha, "alpha-forged"), options: server.Channel(server.ClientCertificate(Alpha, otherCa)));
        await forged.SendAsync(TypeUrls.Secret, SecretNames);

        var status = await forged.EndAsync("a refusal of a certificate under a foreign root");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("does not chain to this CA's trust bundle", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bearer_token_proves_its_identity_for_sds_and_a_delta_stream_gets_the_same_secrets()
    {
        await using var server = await StartAsync();
        await using var sotw = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-token"), options: server.Channel(), headers: Bearer(BetaToken));
        var secrets = await SecretsAsync(sotw, "beta's secrets for a bearer token");
        using (var leaf = X509Certificate2.CreateFromPem(secrets[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate.CertificateChain.InlineString))
        {
            Assert.Equal([Beta.ToString()], SubjectAlternativeNames.ReadUris(leaf)!);
        }

        await using var delta = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-delta"), delta: true, options: server.Channel(), headers: Bearer(BetaToken));
        await delta.SendDeltaAsync(TypeUrls.Secret, subscribe: SecretNames);
        var response = await delta.NextDeltaAsync("beta's secrets over delta");
        Assert.Equal(SecretNames.Order(StringComparer.Ordinal), response.Resources.Select(r => r.Name).Order(StringComparer.Ordinal));
        var deltaDefault = response.Resources.Single(r => r.Name == WorkloadSecretPublisher.DefaultSecretName).Resource_.Unpack<Secret>();
        // One identity, one credential: both streams hold the same certificate.
        Assert.Equal(secrets[WorkloadSecretPublisher.DefaultSecretName], deltaDefault);
    }

    [Fact]
    public async Task A_node_claiming_no_identity_needs_no_proof_and_is_served_no_secrets()
    {
        await using var server = await StartAsync();
        await using var plain = XdsProtocolClient.Open(server.Address, Fixtures.Node("plain-client"), options: server.Channel());
        await plain.SendAsync(TypeUrls.Cluster);
        var clusters = await plain.NextAsync("the mesh's clusters for an anonymous node");
        Assert.Equal(TypeUrls.Cluster, clusters.TypeUrl);
        await plain.AckAsync(clusters);

        await plain.SendAsync(TypeUrls.Secret, SecretNames);
        Assert.True(await plain.NothingWithinAsync(TimeSpan.FromMilliseconds(500)), "an anonymous node was sent secrets");
        Assert.Null(plain.EndStatus);
    }

    [Fact]
    public async Task A_root_rotation_reaches_a_connected_stream_with_a_new_certificate_and_both_roots()
    {
        await using var server = await StartAsync();
        await using var alpha = XdsProtocolClient.Open(server.Address, NodeClaiming(Alpha, "alpha-rotation"), options: server.Channel(server.ClientCertificate(Alpha)));
        var before = await SecretsAsync(alpha, "alpha's first secrets");

        var next = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain });
        var nextRoot = next.RootCertificatePem;
        server.Authority.Rotate(next, TimeSpan.FromHours(1));

        var after = await SecretsUntilAsync(alpha, s => s[WorkloadSecretPublisher.RootCaSecretName].ValidationContext.TrustedCa.InlineString.Contains(nextRoot.Split('\n')[1], StringComparison.Ordinal)
            && s[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate.CertificateChain.InlineString != before[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate.CertificateChain.InlineString,
            "a certificate under the new root and a bundle holding it");
        var bundle = after[WorkloadSecretPublisher.RootCaSecretName].ValidationContext.TrustedCa.InlineString;
        Assert.Contains(server.Ca.RootCertificatePem.Split('\n')[1], bundle, StringComparison.Ordinal); // old root kept during the overlap
        TestCa.Verify([after[WorkloadSecretPublisher.DefaultSecretName].TlsCertificate.CertificateChain.InlineString, nextRoot], DateTimeOffset.UtcNow).Dispose();
    }

    [Fact]
    public async Task Create_certificate_over_mtls_issues_for_the_client_certificates_identity_not_the_csrs()
    {
        await using var server = await StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address, server.Channel(server.ClientCertificate(Alpha)));
        var client = new IstioCertificateService.IstioCertificateServiceClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var response = await client.CreateCertificateAsync(new IstioCertificateRequest { Csr = TestCa.Csr(key, sanUri: Beta.ToString()) });

        using var leaf = X509Certificate2.CreateFromPem(response.CertChain[0]);
        Assert.Equal([Alpha.ToString()], SubjectAlternativeNames.ReadUris(leaf)!);
        TestCa.Verify(response.CertChain, DateTimeOffset.UtcNow).Dispose();
    }

    [Fact]
    public async Task The_trust_bundle_endpoint_serves_the_spiffe_bundle_and_answers_if_none_match_with_304()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient(server.Handler()) { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(10) };

        using var first = await http.GetAsync(Microsoft.AspNetCore.Builder.CertificateAuthorityEndpointRouteBuilderExtensions.DefaultTrustBundlePath);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("application/json", first.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        var key = Assert.Single(document.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal("x509-svid", key.GetProperty("use").GetString());
        Assert.Equal(server.Ca.RootCertificate.RawData, Convert.FromBase64String(key.GetProperty("x5c")[0].GetString()!));

        using var again = new HttpRequestMessage(HttpMethod.Get, Microsoft.AspNetCore.Builder.CertificateAuthorityEndpointRouteBuilderExtensions.DefaultTrustBundlePath);
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var notModified = await http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        server.Authority.Rotate(CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain }), TimeSpan.FromHours(1));
        using var changed = new HttpRequestMessage(HttpMethod.Get, Microsoft.AspNetCore.Builder.CertificateAuthorityEndpointRouteBuilderExtensions.DefaultTrustBundlePath);
        changed.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var rotated = await http.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        using var rotatedDocument = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync());
        Assert.Equal(2, rotatedDocument.RootElement.GetProperty("keys").GetArrayLength());
    }

    /// <summary>Asks for both secrets and returns the first response holding both, ACKed.</summary>
    private static Task<Dictionary<string, Secret>> SecretsAsync(XdsProtocolClient client, string because) =>
        SecretsUntilAsync(client, _ => true, because, subscribe: true);

    private static async Task<Dictionary<string, Secret>> SecretsUntilAsync(XdsProtocolClient client, Func<Dictionary<string, Secret>, bool> done,
        string because, bool subscribe = false)
    {
        if (subscribe)
        {
            await client.SendAsync(TypeUrls.Secret, SecretNames);
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var response = await client.NextAsync(because, deadline - DateTime.UtcNow);
            Assert.Equal(TypeUrls.Secret, response.TypeUrl);
            await client.AckAsync(response, SecretNames);
            var secrets = response.Resources.Select(r => r.Unpack<Secret>()).ToDictionary(s => s.Name, StringComparer.Ordinal);
            if (secrets.Count == SecretNames.Length && done(secrets))
            {
                return secrets;
            }
        }
    }
}
