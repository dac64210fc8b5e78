using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using XdsServer.Ca;
using XdsServer.Ca.Istio;

namespace XdsServer.Tests.Files;

/// <summary>Issue 4 §4: the FileServer process with <c>--ca</c> and <c>--ca-tokens</c> is the mesh's CA: CreateCertificate
/// and SDS on the gRPC port, the SPIFFE trust bundle on the HTTP port, root material kept in the folder.</summary>
public sealed class FileServerCaTests : IDisposable
{
    private const string Token = "tok-hello-3b9e";
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(60);
    private static readonly SpiffeId Hello = SpiffeId.ForIstio("cluster.local", "default", "hello");
    private readonly ResourceFolder _folder = new();
    private readonly string _ca;
    private readonly string _tokens;

    public FileServerCaTests()
    {
        _ca = Path.Combine(_folder.Path, "..", Path.GetFileName(_folder.Path) + "-cacerts");
        _tokens = _ca + "-tokens.json";
        File.WriteAllText(_tokens, JsonSerializer.Serialize(new Dictionary<string, string> { [Token] = Hello.ToString() }));
        var sample = Path.Combine(FileServerProcess.RepositoryRoot, "examples", "FileServer", "sample");
        foreach (var file in Directory.GetFiles(sample))
        {
            File.Copy(file, Path.Combine(_folder.Path, Path.GetFileName(file)));
        }
    }

    public void Dispose()
    {
        _folder.Dispose();
        if (Directory.Exists(_ca))
        {
            Directory.Delete(_ca, recursive: true);
        }
        File.Delete(_tokens);
    }

    [Fact]
    public async Task Issues_certificates_for_token_holders_serves_their_secrets_and_the_bundle_and_keeps_the_root()
    {
        int grpcPort = FileServerProcess.FreePort(), httpPort = FileServerProcess.FreePort();
        string[] args = ["--urls", $"http://127.0.0.1:{grpcPort}", "--resources", _folder.Path, "--http-urls", $"http://127.0.0.1:{httpPort}",
            "--ca", _ca, "--ca-tokens", _tokens];
        var grpc = new Uri($"http://127.0.0.1:{grpcPort}");
        byte[] root;
        await using (var server = await FileServerProcess.StartAsync(args))
        {
            await GrpcHealthProbe.WaitForAsync(grpc, GrpcHealthProbe.Serving, StartupWait, () => server.Output);
            Assert.Contains("Certificate authority for trust domain cluster.local", server.Output, StringComparison.Ordinal);
            using (var rootFile = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(_ca, "root-cert.pem"))))
            {
                root = rootFile.RawData; // created on first start, in Istio's cacerts layout
            }

            // CreateCertificate: the token's identity is issued, whatever the CSR asks for; no token, no certificate.
            using var channel = GrpcChannel.ForAddress(grpc);
            var ca = new IstioCertificateService.IstioCertificateServiceClient(channel);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var csr = new CertificateRequest("CN=anything", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
            var issued = await ca.CreateCertificateAsync(new IstioCertificateRequest { Csr = csr },
                new Metadata { { "authorization", "Bearer " + Token } });
            using (var leaf = X509Certificate2.CreateFromPem(issued.CertChain[0]))
            using (var issuedRoot = X509Certificate2.CreateFromPem(issued.CertChain[^1]))
            {
                Assert.Equal(root, issuedRoot.RawData);
                Assert.Contains($"URI:{Hello}", leaf.Extensions["2.5.29.17"]!.Format(false), StringComparison.Ordinal);
            }
            var refused = await Assert.ThrowsAsync<RpcException>(() => ca.CreateCertificateAsync(new IstioCertificateRequest { Csr = csr }).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

            // SDS on the same gRPC endpoint as the folder's resources, for the identity the token proves.
            var node = new Envoy.Config.Core.V3.Node { Id = "sidecar~hello", Metadata = new Struct() };
            node.Metadata.Fields["NAMESPACE"] = Value.ForString("default");
            node.Metadata.Fields["SERVICE_ACCOUNT"] = Value.ForString("hello");
            await using (var proxy = XdsProtocolClient.Open(grpc, node, headers: new Metadata { { "authorization", "Bearer " + Token } }))
            {
                await proxy.SendAsync(TypeUrls.Listener, ["hello"]);
                Assert.Equal(TypeUrls.Listener, (await proxy.NextAsync("the folder's listener")).TypeUrl);
                await proxy.SendAsync(TypeUrls.Secret, ["default", "ROOTCA"], withNode: false);
                var secrets = await proxy.NextAsync("the workload secrets of the token's identity");
                var byName = secrets.Resources.Select(r => r.Unpack<Secret>()).ToDictionary(s => s.Name);
                using var leaf = X509Certificate2.CreateFromPem(byName["default"].TlsCertificate.CertificateChain.InlineString);
                Assert.Contains($"URI:{Hello}", leaf.Extensions["2.5.29.17"]!.Format(false), StringComparison.Ordinal);
                Assert.Contains(Convert.ToBase64String(root)[..64], byName["ROOTCA"].ValidationContext.TrustedCa.InlineString.Replace("\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
            }

            // The same node without the token is refused.
            await using (var impostor = XdsProtocolClient.Open(grpc, node))
            {
                await impostor.SendAsync(TypeUrls.Secret, ["default"]);
                Assert.Equal(StatusCode.PermissionDenied, (await impostor.EndAsync("a refusal without proof")).StatusCode);
            }

            Assert.Equal(root, await BundleRootAsync(httpPort));
        }

        // A restart loads the root from the folder instead of making a new one.
        await using (var again = await FileServerProcess.StartAsync(args))
        {
            await GrpcHealthProbe.WaitForAsync(grpc, GrpcHealthProbe.Serving, StartupWait, () => again.Output);
            Assert.Equal(root, await BundleRootAsync(httpPort));
        }
    }

    [Fact]
    public async Task A_token_file_that_is_not_a_json_object_stops_the_start_with_its_reason()
    {
        await File.WriteAllTextAsync(_tokens, "[\"not an object\"]");
        await using var server = await FileServerProcess.StartAsync("--urls", $"http://127.0.0.1:{FileServerProcess.FreePort()}",
            "--resources", _folder.Path, "--ca", _ca, "--ca-tokens", _tokens);
        var code = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 1, $"exit code {code}; output:\n{server.Output}");
        Assert.Contains("cannot start the certificate authority", server.Output, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(_tokens), server.Output, StringComparison.Ordinal);
    }

    private static async Task<byte[]> BundleRootAsync(int httpPort)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync("/.well-known/spiffe-bundle");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var bundle = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var key = Assert.Single(bundle.RootElement.GetProperty("keys").EnumerateArray());
        return Convert.FromBase64String(key.GetProperty("x5c")[0].GetString()!);
    }
}
