using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Service.Status.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsServer.Tests.Files;

/// <summary>
/// The FileServer process as the mesh's CA, attacked through its side doors (docs/security.md): a workload proves its
/// identity with a token and receives its private key over SDS; then callers who proved nothing (or proved another
/// identity) try CSDS and REST fetch on the same ports for that key.
/// </summary>
public sealed class FileServerSecurityTests : IClassFixture<FileServerSecurityTests.CaProcess>
{
    private readonly CaProcess _server;

    public FileServerSecurityTests(CaProcess server) => _server = server;

    [Fact]
    public async Task Anonymous_csds_on_the_gRPC_port_never_returns_a_workloads_private_key()
    {
        var victimKey = await _server.VictimWithKeyAsync("sidecar~alice-csds");
        using var channel = GrpcChannel.ForAddress(_server.Grpc);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        ClientStatusResponse answer = null!;
        ClientConfig.Types.GenericXdsConfig SecretEntry() => answer.Config.Single(c => c.Node.Id == "sidecar~alice-csds")
            .GenericXdsConfigs.Single(g => g.TypeUrl == TypeUrls.Secret && g.Name == "default");

        // The victim's ACK may still be on its way to the server's loop: wait for the state, not for time.
        await Eventually.TrueAsync(async () =>
        {
            answer = await csds.FetchClientStatusAsync(new ClientStatusRequest());
            return SecretEntry().ClientStatus == Envoy.Admin.V3.ClientResourceStatus.Acked;
        }, "CSDS to report the victim's secret as ACKed", lastSeen: () => SecretEntry().ToString());

        var config = answer.Config.Single(c => c.Node.Id == "sidecar~alice-csds");
        var secret = SecretEntry();
        Assert.NotEmpty(secret.VersionInfo);                    // reported by name, version and state...
        Assert.Null(secret.XdsConfig);                          // ...never with the payload
        Assert.NotNull(config.GenericXdsConfigs.First(g => g.TypeUrl == TypeUrls.Listener && g.Name.Length > 0).XdsConfig);
        Assert.DoesNotContain("PRIVATE KEY", Encoding.Latin1.GetString(Google.Protobuf.MessageExtensions.ToByteArray(answer)), StringComparison.Ordinal);
        Assert.DoesNotContain(victimKey.Split('\n')[1], Encoding.Latin1.GetString(Google.Protobuf.MessageExtensions.ToByteArray(answer)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csds_filtered_to_the_victims_node_id_never_returns_its_private_key()
    {
        await _server.VictimWithKeyAsync("sidecar~alice-filtered");
        using var channel = GrpcChannel.ForAddress(_server.Grpc);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        foreach (var matcher in new[] { new StringMatcher { Exact = "sidecar~alice-filtered" }, new StringMatcher { SafeRegex = new RegexMatcher { Regex = ".*alice-filtered" } } })
        {
            var request = new ClientStatusRequest();
            request.NodeMatchers.Add(new NodeMatcher { NodeId = matcher });
            var answer = await csds.FetchClientStatusAsync(request);
            Assert.Equal("sidecar~alice-filtered", Assert.Single(answer.Config).Node.Id);
            Assert.DoesNotContain("PRIVATE KEY", Encoding.Latin1.GetString(Google.Protobuf.MessageExtensions.ToByteArray(answer)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rest_fetch_of_a_victims_secret_is_refused_to_callers_who_did_not_prove_the_victims_identity()
    {
        using var http = new HttpClient { BaseAddress = _server.Http, Timeout = TimeSpan.FromSeconds(10) };
        const string Body = """{"node":{"id":"sidecar~alice-rest","metadata":{"NAMESPACE":"default","SERVICE_ACCOUNT":"alice"}},"resource_names":["default"]}""";

        async Task<(HttpStatusCode Status, string Body)> FetchAsync(string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v3/discovery:secrets") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var anonymous = await FetchAsync(null);
        Assert.Equal(HttpStatusCode.Forbidden, anonymous.Status);
        Assert.Contains("needs a proven workload identity", anonymous.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", anonymous.Body, StringComparison.Ordinal);

        var otherIdentity = await FetchAsync(CaProcess.BobToken);
        Assert.Equal(HttpStatusCode.Forbidden, otherIdentity.Status);
        Assert.Contains("but the caller proved spiffe://cluster.local/ns/default/sa/bob", otherIdentity.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", otherIdentity.Body, StringComparison.Ordinal);

        // The owner, over loopback, is served: the refusals above are about proof, not a closed door.
        var owner = await FetchAsync(CaProcess.AliceToken);
        Assert.Equal(HttpStatusCode.OK, owner.Status);
        Assert.Contains("PRIVATE KEY", owner.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_documented_tls_command_line_serves_secrets_to_a_token_holder_over_tls()
    {
        // The README's secure command line: a server certificate made with openssl, gRPC over https://.
        var folder = Path.Combine(Path.GetTempPath(), "xds-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var (crt, key) = (Path.Combine(folder, "xds-tls.crt"), Path.Combine(folder, "xds-tls.key"));
            await OpenSsl.RunAsync(folder, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", crt);
            var port = FileServerProcess.FreePort();
            await using var server = await FileServerProcess.StartAsync("--urls", $"https://127.0.0.1:{port}", "--resources", _server.Resources,
                "--ca", Path.Combine(folder, "cacerts"), "--ca-tokens", _server.TokenFile, "--tls-cert", crt, "--tls-key", key);
            using var trusted = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(crt));
            GrpcChannelOptions Options() => new()
            {
                HttpHandler = new SocketsHttpHandler
                {
                    SslOptions = new SslClientAuthenticationOptions
                    {
                        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(trusted.RawData),
                    },
                },
                DisposeHttpClient = true,
            };
            var address = new Uri($"https://127.0.0.1:{port}");
            await CaProcess.WaitServingAsync(address, Options, server);
            Assert.Contains($"Listening on https://127.0.0.1:{port}: xDS over gRPC (HTTP/2 over TLS)", server.Output, StringComparison.Ordinal);

            await using var proxy = XdsProtocolClient.Open(address, CaProcess.Alice("sidecar~alice-tls"), options: Options(), headers: CaProcess.Bearer(CaProcess.AliceToken));
            await proxy.SendAsync(TypeUrls.Secret, ["default"]);
            var secret = (await proxy.NextAsync("alice's secret over TLS")).Resources.Single().Unpack<Secret>();
            Assert.Contains("PRIVATE KEY", secret.TlsCertificate.PrivateKey.InlineString, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Allowing_insecure_transport_is_said_at_start()
    {
        var port = FileServerProcess.FreePort();
        await using var server = await FileServerProcess.StartAsync("--urls", $"http://127.0.0.1:{port}", "--resources", _server.Resources,
            "--allow-insecure-transport");
        await CaProcess.WaitServingAsync(new Uri($"http://127.0.0.1:{port}"), null, server);
        await Eventually.TrueAsync(() => server.Output.Contains("XdsServerOptions.AllowInsecureTransport is on", StringComparison.Ordinal),
            "the start log to warn that secrets may cross cleartext");
    }

    /// <summary>One FileServer process with <c>--ca</c> and a token file (alice and bob) for the tests of this class.</summary>
    public sealed class CaProcess : IAsyncLifetime, IDisposable
    {
        public const string AliceToken = "tok-alice-5c1e";
        public const string BobToken = "tok-bob-81fa";
        private readonly ResourceFolder _folder = new();
        private FileServerProcess _process = null!;

        public Uri Grpc { get; private set; } = null!;

        public Uri Http { get; private set; } = null!;

        public string Resources => _folder.Path;

        public string TokenFile => Path.Combine(_folder.Path + "-ca", "tokens.json");

        public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

        /// <summary>A node claiming alice's identity as istio-agent does.</summary>
        public static Envoy.Config.Core.V3.Node Alice(string id)
        {
            var node = new Envoy.Config.Core.V3.Node { Id = id, Metadata = new Struct() };
            node.Metadata.Fields["NAMESPACE"] = Value.ForString("default");
            node.Metadata.Fields["SERVICE_ACCOUNT"] = Value.ForString("alice");
            return node;
        }

        internal static async Task WaitServingAsync(Uri address, Func<GrpcChannelOptions>? options, FileServerProcess server)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline && !server.HasExited)
            {
                using (var channel = GrpcChannel.ForAddress(address, options?.Invoke() ?? new GrpcChannelOptions()))
                {
                    if (await GrpcHealthProbe.CheckAsync(channel, TimeSpan.FromSeconds(2)) == GrpcHealthProbe.Serving)
                    {
                        return;
                    }
                }

                await Task.Delay(200); // polling: the health protocol's Check is a poll
            }

            Assert.Fail($"the FileServer at {address} did not become SERVING; output:\n{server.Output}");
        }

        /// <summary>Alice's proxy proves her identity with her token, receives her key over SDS and ACKs it; the stream
        /// stays open while the test attacks.</summary>
        public async Task<string> VictimWithKeyAsync(string nodeId)
        {
            var proxy = XdsProtocolClient.Open(Grpc, Alice(nodeId), headers: Bearer(AliceToken));
            _victims.Add(proxy);
            await proxy.SendAsync(TypeUrls.Listener, ["hello"]);
            var listeners = await proxy.NextAsync("the folder's listener");
            await proxy.SendAsync(TypeUrls.Listener, ["hello"], listeners.VersionInfo, listeners.Nonce, withNode: false);
            await proxy.SendAsync(TypeUrls.Secret, ["default"], withNode: false);
            var secrets = await proxy.NextAsync("alice's secret");
            await proxy.SendAsync(TypeUrls.Secret, ["default"], secrets.VersionInfo, secrets.Nonce, withNode: false);
            var key = secrets.Resources.Single().Unpack<Secret>().TlsCertificate.PrivateKey.InlineString;
            Assert.Contains("PRIVATE KEY", key, StringComparison.Ordinal); // the victim really holds a key to steal
            return key;
        }

        private readonly List<XdsProtocolClient> _victims = [];

        public async Task InitializeAsync()
        {
            var sample = Path.Combine(FileServerProcess.RepositoryRoot, "examples", "FileServer", "sample");
            foreach (var file in Directory.GetFiles(sample))
            {
                File.Copy(file, Path.Combine(_folder.Path, Path.GetFileName(file)));
            }

            Directory.CreateDirectory(Path.GetDirectoryName(TokenFile)!);
            await File.WriteAllTextAsync(TokenFile, JsonSerializer.Serialize(new Dictionary<string, string>
            {
                [AliceToken] = "spiffe://cluster.local/ns/default/sa/alice",
                [BobToken] = "spiffe://cluster.local/ns/default/sa/bob",
            }));
            int grpcPort = FileServerProcess.FreePort(), httpPort = FileServerProcess.FreePort();
            Grpc = new Uri($"http://127.0.0.1:{grpcPort}");
            Http = new Uri($"http://127.0.0.1:{httpPort}");
            _process = await FileServerProcess.StartAsync("--urls", Grpc.ToString().TrimEnd('/'), "--resources", _folder.Path,
                "--http-urls", Http.ToString().TrimEnd('/'), "--ca", Path.Combine(_folder.Path + "-ca", "cacerts"), "--ca-tokens", TokenFile);
            await WaitServingAsync(Grpc, null, _process);
        }

        public async Task DisposeAsync()
        {
            foreach (var victim in _victims)
            {
                await victim.DisposeAsync();
            }

            await _process.DisposeAsync();
            Dispose();
        }

        public void Dispose()
        {
            _folder.Dispose();
            if (Directory.Exists(_folder.Path + "-ca"))
            {
                Directory.Delete(_folder.Path + "-ca", recursive: true);
            }
        }
    }
}
