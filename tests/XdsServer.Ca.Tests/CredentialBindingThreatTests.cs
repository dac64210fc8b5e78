using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Ca.Istio;
using XdsServer.Cache;
using XdsServer.Testing;
using static XdsServer.Ca.Tests.WorkloadSecretsServer;

namespace XdsServer.Ca.Tests;

/// <summary>
/// Credentials are bound to what they prove (docs/security.md), each threat tried against a real host over loopback:
/// a token over cleartext, a node id naming another namespace, a stream without proof where proof is required, and
/// a live stream whose certificate expires or whose token is revoked.
/// </summary>
public sealed class CredentialBindingThreatTests
{
    private static readonly string[] SecretNames = [WorkloadSecretPublisher.DefaultSecretName, WorkloadSecretPublisher.RootCaSecretName];

    [Fact]
    public async Task A_bearer_token_over_cleartext_from_another_machine_gets_no_certificate_and_no_secrets()
    {
        // LoopbackIsConfidential off: this loopback caller stands for one on another machine.
        await using var server = await StartAsync(cleartext: true, xds: o => o.LoopbackIsConfidential = false);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var ca = new IstioCertificateService.IstioCertificateServiceClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            ca.CreateCertificateAsync(new IstioCertificateRequest { Csr = TestCa.Csr(key) }, Bearer(BetaToken)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("bearer token: a bearer token is not accepted here: the connection from 127.0.0.1 is cleartext HTTP", refused.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaToken, refused.Status.Detail, StringComparison.Ordinal);

        await using var sds = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-cleartext"), headers: Bearer(BetaToken));
        await sds.SendAsync(TypeUrls.Secret, SecretNames);
        var end = await sds.EndAsync("the token over cleartext to prove nothing");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
        Assert.Contains("cleartext HTTP", end.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bearer_token_over_cleartext_works_where_the_host_opted_in()
    {
        await using var server = await StartAsync(cleartext: true, xds: o =>
        {
            o.LoopbackIsConfidential = false;
            o.AllowInsecureTransport = true;
        });
        await using var sds = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-cleartext"), headers: Bearer(BetaToken));
        await sds.SendAsync(TypeUrls.Secret, SecretNames);
        Assert.Equal(2, (await sds.NextAsync("beta's secrets, since the host allowed cleartext")).Resources.Count);
    }

    [Fact]
    public async Task A_node_id_naming_another_namespace_is_refused_even_with_a_valid_proof()
    {
        await using var server = await StartAsync();
        // Beta (namespace b) proves itself with its token, claims beta by metadata, but names a pod of namespace a.
        var node = NodeClaiming(Beta, "sidecar~10.0.0.7~victim-7d9.a~a.svc.cluster.local");
        await using var impostor = XdsProtocolClient.Open(server.Address, node, options: server.Channel(), headers: Bearer(BetaToken));
        await impostor.SendAsync(TypeUrls.Cluster);
        var end = await impostor.EndAsync("a node id of another namespace to be refused");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
        Assert.Contains($"names namespace 'a', but the caller proved {Beta} of namespace 'b'", end.Detail, StringComparison.Ordinal);

        // The same proof with a node id of its own namespace is let in.
        await using var honest = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "sidecar~10.0.0.8~beta-5f1.b~b.svc.cluster.local"),
            options: server.Channel(), headers: Bearer(BetaToken));
        await honest.SendAsync(TypeUrls.Secret, SecretNames);
        Assert.Equal(2, (await honest.NextAsync("beta's own secrets")).Resources.Count);
    }

    [Fact]
    public async Task A_proven_caller_cannot_read_another_namespaces_node_by_claiming_no_identity()
    {
        await using var server = await StartAsync();
        // No NAMESPACE/SERVICE_ACCOUNT metadata: the node claims nothing, but the caller proves beta anyway.
        var node = new Envoy.Config.Core.V3.Node { Id = "sidecar~10.0.0.7~victim-7d9.a~a.svc.cluster.local", Cluster = "test" };
        await using var impostor = XdsProtocolClient.Open(server.Address, node, options: server.Channel(), headers: Bearer(BetaToken));
        await impostor.SendAsync(TypeUrls.Cluster);
        var end = await impostor.EndAsync("a proven caller naming another namespace's node to be refused");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
        Assert.Contains("names namespace 'a'", end.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_proof_required_a_stream_that_proves_nothing_is_refused()
    {
        await using var server = await StartAsync(ca: o => o.RequireProvenIdentity = true);
        await using var anonymous = XdsProtocolClient.Open(server.Address, Fixtures.Node("sidecar~10.0.0.7~victim-7d9.a~a.svc.cluster.local"), options: server.Channel());
        await anonymous.SendAsync(TypeUrls.Cluster);
        var end = await anonymous.EndAsync("an anonymous stream to be refused");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
        Assert.Contains("claims no workload identity, and this server requires every stream to prove one", end.Detail, StringComparison.Ordinal);

        await using var proven = XdsProtocolClient.Open(server.Address, Fixtures.Node("plain-but-proven"), options: server.Channel(), headers: Bearer(BetaToken));
        await proven.SendAsync(TypeUrls.Cluster);
        Assert.Single((await proven.NextAsync("clusters for a caller that proved an identity")).Resources);
    }

    [Fact]
    public async Task A_live_stream_ends_with_unauthenticated_when_its_client_certificate_expires()
    {
        await using var server = await StartAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = new WorkloadCertificateIssuer(server.Ca).Issue(TestCa.Csr(key), Alpha, TimeSpan.FromSeconds(3));
        using var leaf = X509Certificate2.CreateFromPem(issued.CertificatePem);
        using var withKey = leaf.CopyWithPrivateKey(key);
        await using var stream = XdsProtocolClient.Open(server.Address, NodeClaiming(Alpha, "alpha-short"), options: server.Channel(withKey));
        await stream.SendAsync(TypeUrls.Secret, SecretNames);
        var secrets = await stream.NextAsync("alpha's secrets while its certificate holds");
        await stream.SendAsync(TypeUrls.Secret, SecretNames, secrets.VersionInfo, secrets.Nonce, withNode: false);

        var end = await stream.EndAsync("the stream to end when the client certificate expires", TimeSpan.FromSeconds(30));
        Assert.Equal(StatusCode.Unauthenticated, end.StatusCode);
        Assert.Contains($"expired at {issued.NotAfter:O}", end.Detail, StringComparison.Ordinal);
        Assert.True(DateTimeOffset.UtcNow >= issued.NotAfter, "the stream ended before the certificate expired");
    }

    [Fact]
    public async Task A_live_stream_ends_with_unauthenticated_when_its_token_expires()
    {
        // A reviewer of expiring tokens (as a JWT or Kubernetes TokenReview reviewer would be): this one lives 3 s.
        var expiry = DateTimeOffset.UtcNow.AddSeconds(3);
        await using var server = await StartAsync(services: s => s.AddSingleton<ITokenReviewer>(new ExpiringTokenReviewer("tok-jwt-ab12", Alpha, expiry)));
        await using var stream = XdsProtocolClient.Open(server.Address, NodeClaiming(Alpha, "alpha-jwt"), options: server.Channel(), headers: Bearer("tok-jwt-ab12"));
        await stream.SendAsync(TypeUrls.Secret, SecretNames);
        var secrets = await stream.NextAsync("alpha's secrets while its token is valid");
        await stream.SendAsync(TypeUrls.Secret, SecretNames, secrets.VersionInfo, secrets.Nonce, withNode: false);

        var end = await stream.EndAsync("the stream to end when its token expires", TimeSpan.FromSeconds(30));
        Assert.Equal(StatusCode.Unauthenticated, end.StatusCode);
        Assert.Contains($"expired at {expiry:O}", end.Detail, StringComparison.Ordinal);
        Assert.True(DateTimeOffset.UtcNow >= expiry, "the stream ended before its token expired");
    }

    [Fact]
    public async Task A_live_stream_ends_with_unauthenticated_when_its_token_is_removed_from_the_token_file()
    {
        // The default re-check interval (5 minutes): the file's change itself asks the streams to re-authorize.
        await using var server = await StartAsync();
        await using var stream = XdsProtocolClient.Open(server.Address, NodeClaiming(Beta, "beta-revoked"), options: server.Channel(), headers: Bearer(BetaToken));
        await stream.SendAsync(TypeUrls.Secret, SecretNames);
        var secrets = await stream.NextAsync("beta's secrets while its token is listed");
        await stream.SendAsync(TypeUrls.Secret, SecretNames, secrets.VersionInfo, secrets.Nonce, withNode: false);

        // The operator revokes the token: the file no longer lists it (the reviewer rereads it within seconds).
        await File.WriteAllTextAsync(server.TokenFile, JsonSerializer.Serialize(new Dictionary<string, string> { ["tok-other-9a1"] = Alpha.ToString() }));
        var end = await stream.EndAsync("the stream to end once its token is revoked", TimeSpan.FromSeconds(30));
        Assert.Equal(StatusCode.Unauthenticated, end.StatusCode);
        Assert.Contains("is no longer authorized", end.Detail, StringComparison.Ordinal);
        Assert.Contains("the bearer token is not in the static token file", end.Detail, StringComparison.Ordinal);
    }

    private sealed class ExpiringTokenReviewer(string token, SpiffeId identity, DateTimeOffset expiry) : ITokenReviewer
    {
        public ValueTask<CallerAuthenticationResult> ReviewAsync(string presented, CancellationToken cancellationToken) =>
            ValueTask.FromResult(presented == token && DateTimeOffset.UtcNow < expiry
                ? CallerAuthenticationResult.Success(identity, expiry)
                : CallerAuthenticationResult.Fail("the token is unknown or expired"));
    }
}
