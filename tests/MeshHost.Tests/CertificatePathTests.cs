using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using MeshHost.Tests.Hosting;
using XdsServer.Ca.Istio;
using XdsServer.Cache;

namespace MeshHost.Tests;

/// <summary>The path a real istio-agent takes: CreateCertificate with its node metadata and a bearer token, then
/// the workload secrets over SDS (on the ADS stream, next to the mesh's configuration) with the sidecar's node.</summary>
public sealed class CertificatePathTests : IDisposable
{
    private const string Token = "tok-reviews-61c2";
    private const string Identity = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("meshhost-ca-");
    private readonly string _manifests;
    private readonly string _tokens;

    public CertificatePathTests()
    {
        _manifests = Directory.CreateDirectory(Path.Combine(_folder.FullName, "manifests")).FullName;
        File.WriteAllText(Path.Combine(_manifests, "reviews.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.20
              selector: {app: reviews}
              ports: [{name: http, port: 9080, targetPort: 8080}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: reviews-v1, namespace: bookinfo, labels: {app: reviews}}
            spec: {serviceAccountName: bookinfo-reviews}
            status: {podIP: 10.1.0.7, phase: Running, conditions: [{type: Ready, status: "True"}]}
            """);
        _tokens = Path.Combine(_folder.FullName, "tokens.json");
        File.WriteAllText(_tokens, JsonSerializer.Serialize(new Dictionary<string, string> { [Token] = Identity }));
    }

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task A_sidecar_gets_its_service_accounts_certificate_by_CreateCertificate_and_over_SDS()
    {
        // The stand-in generator: with the builders' stubs a sidecar's cluster set is empty, and an empty set is not
        // answered (src/XdsServer.Cache/Internal/ResponseComputer.cs).
        await using var host = await InProcessMeshHost.StartAsync(["--urls", "http://127.0.0.1:0", "--manifests", _manifests, "--ca-tokens", _tokens],
            new MeshHost.Push.MeshPublisherOptions { Generate = TestNodes.ClusterPerServicePort });
        var bearer = new Metadata { { "authorization", "Bearer " + Token } };

        // CreateCertificate as istio-agent sends it: a CSR, a lifetime, and the cluster id in the request metadata.
        using var channel = GrpcChannel.ForAddress(host.Grpc);
        var ca = new IstioCertificateService.IstioCertificateServiceClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new IstioCertificateRequest
        {
            Csr = new CertificateRequest("O=cluster.local", key, HashAlgorithmName.SHA256).CreateSigningRequestPem(),
            ValidityDuration = 3600,
            Metadata = new Struct { Fields = { ["ClusterID"] = Value.ForString("Kubernetes") } },
        };
        var issued = await ca.CreateCertificateAsync(request, bearer);
        using (var leaf = X509Certificate2.CreateFromPem(issued.CertChain[0]))
        {
            Assert.Equal([Identity], UriSans(leaf));
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => ca.CreateCertificateAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

        // SDS on the ADS stream of the sidecar node (NAMESPACE/SERVICE_ACCOUNT claim the identity the token proves),
        // after the mesh's clusters, as Envoy asks.
        var node = TestNodes.Sidecar(serviceAccount: "bookinfo-reviews");
        await using (var proxy = XdsProtocolClient.Open(host.Grpc, node, headers: bearer))
        {
            await proxy.SendAsync(TypeUrls.Cluster);
            var clusters = await proxy.NextAsync("the sidecar's clusters");
            Assert.Equal("outbound|9080||reviews.bookinfo.svc.cluster.local", Assert.Single(clusters.Resources).Unpack<Envoy.Config.Cluster.V3.Cluster>().Name);
            await proxy.AckAsync(clusters);
            await proxy.SendAsync(TypeUrls.Secret, ["default", "ROOTCA"], withNode: false);
            var secrets = await proxy.NextAsync("the workload secrets");
            Assert.Equal(TypeUrls.Secret, secrets.TypeUrl);
            var byName = secrets.Resources.Select(r => r.Unpack<Secret>()).ToDictionary(s => s.Name);
            using var leaf = X509Certificate2.CreateFromPem(byName["default"].TlsCertificate.CertificateChain.InlineString);
            Assert.Equal([Identity], UriSans(leaf));
            using var root = X509Certificate2.CreateFromPem(byName["ROOTCA"].ValidationContext.TrustedCa.InlineString);
            using var issuedRoot = X509Certificate2.CreateFromPem(issued.CertChain[^1]);
            Assert.Equal(issuedRoot.RawData, root.RawData);
        }

        // The same node without the token claims an identity it cannot prove.
        await using (var impostor = XdsProtocolClient.Open(host.Grpc, node))
        {
            await impostor.SendAsync(TypeUrls.Cluster);
            Assert.Equal(StatusCode.PermissionDenied, (await impostor.EndAsync("a refusal without proof")).StatusCode);
        }

        // A token for bookinfo cannot claim a pod of another namespace.
        await using (var elsewhere = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar(@namespace: "default", serviceAccount: "bookinfo-reviews"), headers: bearer))
        {
            await elsewhere.SendAsync(TypeUrls.Cluster);
            Assert.Equal(StatusCode.PermissionDenied, (await elsewhere.EndAsync("a refusal of another namespace's identity")).StatusCode);
        }
    }

    private static string[] UriSans(X509Certificate2 certificate) =>
        [.. System.Text.RegularExpressions.Regex.Matches(certificate.Extensions["2.5.29.17"]!.Format(false), @"URI:([^,\s]+)").Select(m => m.Groups[1].Value)];
}
