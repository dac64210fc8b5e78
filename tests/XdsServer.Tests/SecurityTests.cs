using System.Net;
using System.Text;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Status.V3;
using Envoy.Type.Matcher.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Cache;

namespace XdsServer.Tests;

/// <summary>
/// The threats of the server's own doors (docs/security.md), each tried against a real host over loopback: CSDS,
/// REST fetch, secrets over cleartext, credentials that expire or are revoked on a live stream, garbage on the wire
/// and forged log lines.
/// </summary>
public class SecurityTests
{
    private const string PrivateKey = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-not-a-real-key\n-----END PRIVATE KEY-----\n";

    private static Snapshot WithSecret() => Snapshot.CreateBuilder()
        .Add(Fixtures.Cluster("backend"), Fixtures.Endpoints("backend", 8080))
        .Add(new Envoy.Extensions.TransportSockets.Tls.V3.Secret
        {
            Name = "default",
            TlsCertificate = new Envoy.Extensions.TransportSockets.Tls.V3.TlsCertificate
            {
                PrivateKey = new Envoy.Config.Core.V3.DataSource { InlineString = PrivateKey },
            },
        })
        .Build();

    [Fact]
    public async Task Csds_reports_a_secret_by_name_version_and_ack_but_never_its_private_key()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("victim", WithSecret());
        await using var victim = XdsProtocolClient.Sotw(server.Address, "victim");
        await victim.SendAsync(TypeUrls.Secret, ["default"]);
        var secrets = await victim.NextAsync("the victim's secret over its own stream (loopback is confidential)");
        Assert.Contains("PRIVATE KEY", secrets.Resources[0].Unpack<Envoy.Extensions.TransportSockets.Tls.V3.Secret>().TlsCertificate.PrivateKey.InlineString);
        await victim.SendAsync(TypeUrls.Secret, ["default"], secrets.VersionInfo, secrets.Nonce, withNode: false);
        await victim.SendAsync(TypeUrls.Cluster, withNode: false);
        var clusters = await victim.NextAsync("the victim's clusters");
        await victim.SendAsync(TypeUrls.Cluster, version: clusters.VersionInfo, nonce: clusters.Nonce, withNode: false);

        using var channel = GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        ClientStatusResponse answer = null!;
        await Eventually.TrueAsync(() =>
        {
            answer = csds.FetchClientStatus(new ClientStatusRequest());
            return answer.Config.SelectMany(c => c.GenericXdsConfigs).Count(g => g.ClientStatus == Envoy.Admin.V3.ClientResourceStatus.Acked) == 4;
        }, "both resources and both types ACKed in CSDS");

        // Per type: a type-level entry (empty name, the state of the last response, never a payload), then the resources.
        var entries = answer.Config.Single().GenericXdsConfigs;
        var secret = entries.Single(g => g.TypeUrl == TypeUrls.Secret && g.Name.Length > 0);
        Assert.Equal(("default", secrets.VersionInfo), (secret.Name, secret.VersionInfo));
        Assert.Null(secret.XdsConfig);
        var secretType = entries.Single(g => g.TypeUrl == TypeUrls.Secret && g.Name.Length == 0);
        Assert.Equal((ConfigStatus.Synced, secrets.VersionInfo), (secretType.ConfigStatus, secretType.VersionInfo));
        Assert.Null(secretType.XdsConfig);
        Assert.Null(secretType.ErrorState);
        Assert.NotNull(entries.Single(g => g.TypeUrl == TypeUrls.Cluster && g.Name.Length > 0).XdsConfig); // what is not sensitive is shown
        Assert.DoesNotContain("PRIVATE KEY", Encoding.Latin1.GetString(Google.Protobuf.MessageExtensions.ToByteArray(answer)));

        // Filtered to the victim's node id, exactly or by regex: still no payload.
        foreach (var matcher in new[] { new StringMatcher { Exact = "victim" }, new StringMatcher { SafeRegex = new RegexMatcher { Regex = "vic.*" } } })
        {
            var request = new ClientStatusRequest();
            request.NodeMatchers.Add(new NodeMatcher { NodeId = matcher });
            var filtered = await csds.FetchClientStatusAsync(request);
            Assert.Equal("victim", filtered.Config.Single().Node.Id);
            Assert.DoesNotContain("PRIVATE KEY", Encoding.Latin1.GetString(Google.Protobuf.MessageExtensions.ToByteArray(filtered)));
        }
    }

    [Fact]
    public async Task Csds_redacts_an_inline_private_key_inside_a_clusters_tls_context()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        var cluster = Fixtures.Cluster("backend");
        cluster.TransportSocket = new Envoy.Config.Core.V3.TransportSocket
        {
            Name = "envoy.transport_sockets.tls",
            TypedConfig = Google.Protobuf.WellKnownTypes.Any.Pack(new Envoy.Extensions.TransportSockets.Tls.V3.UpstreamTlsContext
            {
                Sni = "backend.example",
                CommonTlsContext = new Envoy.Extensions.TransportSockets.Tls.V3.CommonTlsContext
                {
                    TlsCertificates =
                    {
                        new Envoy.Extensions.TransportSockets.Tls.V3.TlsCertificate
                        {
                            CertificateChain = new Envoy.Config.Core.V3.DataSource { InlineString = "-----BEGIN CERTIFICATE-----\nchain\n" },
                            PrivateKey = new Envoy.Config.Core.V3.DataSource { InlineString = PrivateKey },
                        },
                    },
                },
            }),
        };
        server.Snapshots.SetSnapshot("n1", Snapshot.CreateBuilder().Add(cluster, Fixtures.Endpoints("backend", 8080)).Build());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        var sent = await client.NextAsync("the cluster, key included, to its own node");
        Assert.Contains("PRIVATE KEY", Encoding.Latin1.GetString(sent.Resources[0].Value.ToByteArray()));

        using var channel = GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        ClientStatusResponse answer = null!;
        await Eventually.TrueAsync(() => (answer = csds.FetchClientStatus(new ClientStatusRequest())).Config.SelectMany(c => c.GenericXdsConfigs).Any(g => g.Name == "backend"),
            "the cluster in CSDS");
        var shown = answer.Config.Single().GenericXdsConfigs.Single(g => g.TypeUrl == TypeUrls.Cluster && g.Name == "backend").XdsConfig.Unpack<Envoy.Config.Cluster.V3.Cluster>();
        var tls = shown.TransportSocket.TypedConfig.Unpack<Envoy.Extensions.TransportSockets.Tls.V3.UpstreamTlsContext>();
        Assert.Equal("backend.example", tls.Sni); // the rest of the configuration is shown...
        Assert.Equal("-----BEGIN CERTIFICATE-----\nchain\n", tls.CommonTlsContext.TlsCertificates[0].CertificateChain.InlineString);
        Assert.Null(tls.CommonTlsContext.TlsCertificates[0].PrivateKey); // ...without the field the API marks sensitive
        Assert.DoesNotContain("PRIVATE KEY", Encoding.Latin1.GetString(Google.Protobuf.MessageExtensions.ToByteArray(answer)));
    }

    [Fact]
    public async Task Csds_is_not_served_by_MapXdsServer_alone()
    {
        await using var server = await LoopbackXdsServer.StartAsync(map: app => app.MapXdsServer());
        using var channel = GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        var e = await Assert.ThrowsAsync<RpcException>(() => csds.FetchClientStatusAsync(new ClientStatusRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
    }

    [Fact]
    public async Task Csds_refuses_a_caller_its_authorization_hook_refuses_and_says_why()
    {
        var logs = new LogCapture();
        await using var server = await LoopbackXdsServer.StartAsync(
            services: s => s.AddSingleton<ILoggerProvider>(logs),
            map: app =>
            {
                app.MapXdsServer();
                app.MapClientStatus(o => o.Authorize = (http, _) => ValueTask.FromResult(
                    http.Request.Headers.Authorization == "Bearer operator-7f" ? null : (string?)"an operator token is required"));
            });
        using var channel = GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);

        var refused = await Assert.ThrowsAsync<RpcException>(() => csds.FetchClientStatusAsync(new ClientStatusRequest()).ResponseAsync);
        Assert.Equal((StatusCode.PermissionDenied, "an operator token is required"), (refused.StatusCode, refused.Status.Detail));
        var streamed = csds.StreamClientStatus();
        await streamed.RequestStream.WriteAsync(new ClientStatusRequest());
        var streamRefused = await Assert.ThrowsAsync<RpcException>(() => streamed.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.PermissionDenied, streamRefused.StatusCode);
        Assert.Contains(logs.Entries, e => e.EventId.Id == 2014 && e.Level == LogLevel.Information);

        var allowed = await csds.FetchClientStatusAsync(new ClientStatusRequest(), new Metadata { { "authorization", "Bearer operator-7f" } });
        Assert.Empty(allowed.Config);
    }

    [Fact]
    public async Task Csds_by_default_refuses_callers_that_are_not_on_loopback()
    {
        var context = new DefaultHttpContext();
        context.Connection.LocalIpAddress = IPAddress.Parse("10.1.2.1");
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3");
        Assert.Equal("CSDS answers loopback callers only (ClientStatusOptions.Authorize)",
            await ClientStatusOptions.LoopbackOnly(context, CancellationToken.None));
        context.Connection.LocalIpAddress = IPAddress.Parse("::ffff:127.0.0.1");
        context.Connection.RemoteIpAddress = IPAddress.Parse("::ffff:127.0.0.1");
        Assert.Null(await ClientStatusOptions.LoopbackOnly(context, CancellationToken.None));
        context.Connection.RemoteIpAddress = null; // no remote address at all proves nothing
        Assert.NotNull(await ClientStatusOptions.LoopbackOnly(context, CancellationToken.None));

        // A sidecar delivers to the pod's own address from 127.0.0.6, and forwarded headers can rewrite the remote
        // address to 127.0.0.1: the local end is not loopback, so neither is local.
        context.Connection.LocalIpAddress = IPAddress.Parse("10.1.2.1");
        context.Connection.RemoteIpAddress = IPAddress.Parse("127.0.0.6");
        Assert.NotNull(await ClientStatusOptions.LoopbackOnly(context, CancellationToken.None));
    }

    [Fact]
    public async Task Csds_bounds_the_matchers_a_caller_sends_and_the_size_of_its_answer()
    {
        await using var server = await LoopbackXdsServer.StartAsync(map: app =>
        {
            app.MapXdsServer();
            app.MapClientStatus(o =>
            {
                o.MaxNodeMatchers = 2;
                o.MaxRegexLength = 64;
                o.MaxResponseBytes = 1024;
            });
        });
        server.Snapshots.SetSnapshot("big", Snapshot.CreateBuilder()
            .Add([.. Enumerable.Range(0, 40).SelectMany(i => new Google.Protobuf.IMessage[]
            {
                Fixtures.Cluster($"cluster-with-a-long-name-{i:D3}"), Fixtures.Endpoints($"cluster-with-a-long-name-{i:D3}", 8080),
            })]).Build());
        await using var client = XdsProtocolClient.Sotw(server.Address, "big" + new string('a', 200));
        server.Snapshots.SetSnapshot("big" + new string('a', 200), server.Snapshots.TryGetSnapshot("big", out var s) ? s : throw new InvalidOperationException());
        await client.SendAsync(TypeUrls.Cluster);
        await client.NextAsync("40 clusters");

        using var channel = GrpcChannel.ForAddress(server.Address);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
        async Task<Status> Refusal(params StringMatcher[] matchers)
        {
            var request = new ClientStatusRequest();
            request.NodeMatchers.AddRange(matchers.Select(m => new NodeMatcher { NodeId = m }));
            return (await Assert.ThrowsAsync<RpcException>(() => csds.FetchClientStatusAsync(request).ResponseAsync)).Status;
        }

        var tooMany = await Refusal(new() { Exact = "a" }, new() { Exact = "b" }, new() { Exact = "c" });
        Assert.Equal((StatusCode.InvalidArgument, "the request has 3 node matchers; the limit is 2"), (tooMany.StatusCode, tooMany.Detail));
        var longRegex = await Refusal(new StringMatcher { SafeRegex = new RegexMatcher { Regex = new string('a', 65) } });
        Assert.Equal("the node matcher's regex has 65 characters; the limit is 64", longRegex.Detail);
        var backreference = await Refusal(new StringMatcher { SafeRegex = new RegexMatcher { Regex = "(a)\\1" } });
        Assert.Equal(StatusCode.InvalidArgument, backreference.StatusCode);
        Assert.StartsWith("the node matcher's regex is not accepted:", backreference.Detail, StringComparison.Ordinal);
        var unanchoring = await Refusal(new StringMatcher { SafeRegex = new RegexMatcher { Regex = "x)|(.*" } });
        Assert.StartsWith("the node matcher's regex is not accepted:", unanchoring.Detail, StringComparison.Ordinal);
        var tooBig = await Refusal(new StringMatcher { Prefix = "big" });
        Assert.Equal(StatusCode.ResourceExhausted, tooBig.StatusCode);
        Assert.Contains("would exceed 1024 bytes", tooBig.Detail, StringComparison.Ordinal);

        // A pattern that backtracks exponentially on a backtracking engine ((a+)+b against a run of 'a') is answered:
        // the non-backtracking engine is linear in the node id.
        var request = new ClientStatusRequest();
        request.NodeMatchers.Add(new NodeMatcher { NodeId = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "(a+)+b" } } });
        Assert.Empty((await csds.FetchClientStatusAsync(request)).Config);
    }

    [Fact]
    public async Task A_rest_fetch_body_larger_than_MaxRequestBytes_gets_413_with_a_message()
    {
        await using var server = await LoopbackXdsServer.StartAsync(http1: true, options: o => o.MaxRequestBytes = 4096);
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        using var http = new HttpClient { BaseAddress = server.Address };
        var huge = "{\"node\":{\"id\":\"n1\"},\"resource_names\":[\"" + new string('x', 8192) + "\"]}";

        using var declared = await http.PostAsync("/v3/discovery:clusters", new StringContent(huge, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal("the request body is larger than 4096 bytes (XdsServerOptions.MaxRequestBytes)\n", await declared.Content.ReadAsStringAsync());

        // Chunked, without a Content-Length: the limit holds while reading.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v3/discovery:clusters")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))),
        };
        chunked.Headers.TransferEncodingChunked = true;
        using var streamed = await http.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);

        using var small = await http.PostAsync("/v3/discovery:clusters", new StringContent("{\"node\":{\"id\":\"n1\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task Secrets_are_not_sent_over_cleartext_from_another_machine()
    {
        // LoopbackIsConfidential off: this loopback client stands for a proxy on another machine.
        await using var server = await LoopbackXdsServer.StartAsync(options: o => o.LoopbackIsConfidential = false);
        server.Snapshots.SetSnapshot("n1", WithSecret());

        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        Assert.Single((await client.NextAsync("clusters are not sensitive")).Resources);
        await client.SendAsync(TypeUrls.Secret, ["default"], withNode: false);
        var end = await client.EndAsync("the secret subscription to be refused");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
        Assert.StartsWith("Secret resources are sensitive and not sent here: the connection from 127.0.0.1 is cleartext HTTP", end.Detail, StringComparison.Ordinal);

        await using var delta = XdsProtocolClient.Delta(server.Address, "n1");
        await delta.SendDeltaAsync(TypeUrls.Secret, ["default"]);
        Assert.Equal(StatusCode.PermissionDenied, (await delta.EndAsync("the delta secret subscription to be refused")).StatusCode);

        using var channel = GrpcChannel.ForAddress(server.Address);
        var sds = new Envoy.Service.Secret.V3.SecretDiscoveryService.SecretDiscoveryServiceClient(channel);
        var fetch = await Assert.ThrowsAsync<RpcException>(() => sds.FetchSecretsAsync(new DiscoveryRequest { Node = Fixtures.Node("n1") }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, fetch.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_unix_socket_is_local_unless_local_connections_are_not_trusted(bool localIsConfidential)
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"xds-{Guid.NewGuid():N}.sock");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));
        builder.Services.AddXdsServer(o => o.LoopbackIsConfidential = localIsConfidential).AddSnapshotCache();
        await using var app = builder.Build();
        app.MapXdsServer();
        await app.StartAsync();
        try
        {
            app.Services.GetRequiredService<SnapshotCache>().SetSnapshot("n1", WithSecret());
            var options = new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    ConnectCallback = async (_, ct) =>
                    {
                        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                        await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath), ct);
                        return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                    },
                },
                DisposeHttpClient = true,
            };
            await using var client = XdsProtocolClient.Open(new Uri("http://localhost"), Fixtures.Node("n1"), options: options);
            await client.SendAsync(TypeUrls.Secret, ["default"]);
            if (localIsConfidential)
            {
                Assert.Single((await client.NextAsync("the secret over a Unix socket, which only this machine can reach")).Resources);
            }
            else
            {
                var end = await client.EndAsync("the secret to be refused when local connections are not trusted");
                Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);
                Assert.Contains("the connection from an unknown peer is cleartext HTTP", end.Detail, StringComparison.Ordinal);
            }
        }
        finally
        {
            await app.StopAsync();
            File.Delete(socketPath);
        }
    }

    [Fact]
    public async Task Secrets_over_cleartext_need_the_host_to_opt_in()
    {
        await using var server = await LoopbackXdsServer.StartAsync(options: o =>
        {
            o.LoopbackIsConfidential = false;
            o.AllowInsecureTransport = true;
        });
        server.Snapshots.SetSnapshot("n1", WithSecret());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Secret, ["default"]);
        Assert.Single((await client.NextAsync("the secret, since the host allowed cleartext")).Resources);
    }

    [Fact]
    public async Task A_rest_fetch_of_secrets_over_cleartext_from_another_machine_is_403()
    {
        await using var server = await LoopbackXdsServer.StartAsync(http1: true, options: o => o.LoopbackIsConfidential = false);
        server.Snapshots.SetSnapshot("n1", WithSecret());
        using var http = new HttpClient { BaseAddress = server.Address };
        using var response = await http.PostAsync("/v3/discovery:secrets", new StringContent("{\"node\":{\"id\":\"n1\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("cleartext HTTP", body, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_ends_with_unauthenticated_when_its_credential_expires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var authorizer = new CredentialAuthorizer(clock.GetUtcNow() + TimeSpan.FromMinutes(10), recheck: false);
        await using var server = await LoopbackXdsServer.StartAsync(services: s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            s.AddSingleton<INodeAuthorizer>(authorizer);
        });
        server.Snapshots.SetSnapshot("n1", WithSecret());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Secret, ["default"]);
        var first = await client.NextAsync("the secret while the credential holds");
        await client.SendAsync(TypeUrls.Secret, ["default"], first.VersionInfo, first.Nonce, withNode: false);

        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.True(await client.NothingWithinAsync(TimeSpan.FromMilliseconds(300)), "the stream ended before its credential expired");
        clock.Advance(TimeSpan.FromMinutes(2));
        var end = await client.EndAsync("the stream to end when the credential expires");
        Assert.Equal(StatusCode.Unauthenticated, end.StatusCode);
        Assert.Equal("the credential that authorized node 'n1' expired at 2026-11-29T12:10:00.0000000+00:00; reconnect with a fresh one", end.Detail);
    }

    [Fact]
    public async Task A_credential_valid_for_longer_than_a_timer_can_wait_keeps_its_stream_until_it_expires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var authorizer = new CredentialAuthorizer(clock.GetUtcNow() + TimeSpan.FromDays(400), recheck: false);
        await using var server = await LoopbackXdsServer.StartAsync(services: s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            s.AddSingleton<INodeAuthorizer>(authorizer);
        });
        server.Snapshots.SetSnapshot("n1", WithSecret());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Cluster);
        await client.NextAsync("clusters while the year-long credential holds");

        clock.Advance(TimeSpan.FromDays(2));
        Assert.True(await client.NothingWithinAsync(TimeSpan.FromMilliseconds(300)), "a credential valid for 400 days ended its stream after 2");
        clock.Advance(TimeSpan.FromDays(399));
        Assert.Equal(StatusCode.Unauthenticated, (await client.EndAsync("the stream to end once the credential expires")).StatusCode);
    }

    [Fact]
    public async Task A_stream_ends_with_unauthenticated_when_its_credential_is_revoked()
    {
        var authorizer = new CredentialAuthorizer(validUntil: null, recheck: true);
        await using var server = await LoopbackXdsServer.StartAsync(
            options: o => o.ReauthorizationInterval = TimeSpan.FromMilliseconds(50),
            services: s => s.AddSingleton<INodeAuthorizer>(authorizer));
        server.Snapshots.SetSnapshot("n1", WithSecret());
        await using var client = XdsProtocolClient.Sotw(server.Address, "n1");
        await client.SendAsync(TypeUrls.Secret, ["default"]);
        await client.NextAsync("the secret while the credential is good");
        await Eventually.TrueAsync(() => authorizer.Calls >= 3, "the stream to be authorized again while it lives");

        authorizer.Revoked = true;
        var end = await client.EndAsync("the stream to end once its credential is revoked");
        Assert.Equal((StatusCode.Unauthenticated, "node 'n1' is no longer authorized: the credential was revoked"), (end.StatusCode, end.Detail));
    }

    [Fact]
    public async Task A_garbage_message_is_refused_and_logged_at_information_without_an_error()
    {
        var logs = new LogCapture();
        await using var server = await LoopbackXdsServer.StartAsync(services: s => s.AddSingleton<ILoggerProvider>(logs));
        using var channel = GrpcChannel.ForAddress(server.Address);
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "envoy.service.discovery.v3.AggregatedDiscoveryService",
            "StreamAggregatedResources", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions());
        await call.RequestStream.WriteAsync([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]); // a length that runs past the end
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("the request is not a valid DiscoveryRequest message:", e.Status.Detail, StringComparison.Ordinal);

        await Eventually.TrueAsync(() => logs.Entries.Any(l => l.EventId.Id == 2002), "the bad request to be logged");
        Assert.True(logs.Entries.All(l => l.Level <= LogLevel.Information), "a client's garbage was logged above Information:\n" + logs.Describe());
        Assert.Contains(logs.Entries, l => l.EventId.Id == 2002 && l.Level == LogLevel.Information && l.Exception is null);
    }

    [Fact]
    public async Task A_node_id_cannot_forge_log_lines()
    {
        var logs = new LogCapture();
        await using var server = await LoopbackXdsServer.StartAsync(services: s =>
        {
            s.AddSingleton<ILoggerProvider>(logs);
            s.AddSingleton<INodeAuthorizer>(new CredentialAuthorizer(null, recheck: false) { Revoked = true });
        });
        await using var client = XdsProtocolClient.Sotw(server.Address, "evil\n2026-11-29 info: admin logged in\u001b[2J\u202e");
        await client.SendAsync(TypeUrls.Cluster);
        var end = await client.EndAsync("the node to be refused");
        Assert.Equal(StatusCode.PermissionDenied, end.StatusCode);

        var refused = Assert.Single(logs.Entries, l => l.EventId.Id == 2009);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.DoesNotContain('\u001b', refused.Message);
        Assert.Contains("evil\\u000a2026-11-29 info: admin logged in\\u001b[2J\\u202e", refused.Message, StringComparison.Ordinal);
        Assert.All(logs.Entries, l => Assert.DoesNotContain('\n', l.Message));
    }

    [Fact]
    public void ClientText_escapes_controls_format_characters_and_lone_surrogates_and_clips()
    {
        Assert.Equal("plain.node-1~x", ClientText.ForLog("plain.node-1~x"));
        Assert.Equal("a\\u000d\\u000ab\\u200bc\\u202ed", ClientText.ForLog("a\r\nb\u200bc\u202ed"));
        Assert.Equal("x\\ud800y", ClientText.ForLog("x\ud800y"));
        Assert.Equal("a\\u2028b\\u2029c", ClientText.ForLog("a\u2028b\u2029c"));
        Assert.Equal("😀", ClientText.ForLog("😀"));
        Assert.Equal("abc…(10 chars)", ClientText.ForLog("abcdefghij", 3));
        Assert.Equal(string.Empty, ClientText.ForLog(null));
    }

    /// <summary>Allows every node on a "credential" that expires or can be revoked.</summary>
    private sealed class CredentialAuthorizer(DateTimeOffset? validUntil, bool recheck) : INodeAuthorizer
    {
        private int _calls;

        public volatile bool Revoked;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Envoy.Config.Core.V3.Node node, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromResult(Revoked
                ? NodeAuthorization.Refused("the credential was revoked")
                : NodeAuthorization.AllowedByCredential(validUntil, recheck));
        }
    }
}
