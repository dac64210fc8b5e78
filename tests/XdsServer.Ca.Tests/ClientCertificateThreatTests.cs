using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using XdsServer.Ca.Istio;
using XdsServer.Cache;
using XdsServer.Testing;
using static XdsServer.Ca.Tests.WorkloadSecretsServer;

namespace XdsServer.Ca.Tests;

/// <summary>
/// Client certificates crafted by an attacker who holds, or has tricked, the CA's signing key into signing
/// something other than a workload's SVID, presented over real loopback TLS to a host wired with
/// <c>AddWorkloadSecrets</c> (whose TLS layer, configured by <c>AcceptWorkloadClientCertificates</c>, accepts any
/// client certificate offline and leaves judgement to the authenticators). Each must be refused with its own reason; the one with the workload profile is accepted,
/// which shows the crafting itself is not what gets the others refused.
/// </summary>
public sealed class ClientCertificateThreatTests
{
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_AIA_url_in_a_client_certificate_is_never_fetched_so_the_caller_cannot_make_the_server_connect()
    {
        await using var server = await StartAsync();
        using var aia = new AiaListener();
        // The intermediate is genuinely signed by the server's root: fetched from the AIA URL, it would complete the chain.
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediate = Intermediate(server.Ca, intermediateKey);
        using var leaf = Craft(Issuer.Of(intermediate, intermediateKey), aia: aia.Url);

        var refused = await CreateCertificateRefusedAsync(server, leaf);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("client certificate: the client certificate does not chain to this CA's trust bundle", refused.Status.Detail, StringComparison.Ordinal);
        // Chain building is synchronous inside the request: had it followed the AIA URL, the connection would be
        // in the listener's backlog by now (nothing accepts it).
        Assert.False(aia.Listener.Pending(), $"the server connected to the client certificate's AIA URL {aia.Url}");
        Assert.Equal(0, aia.Accepted);
    }

    [Fact]
    public async Task Control_a_host_on_the_platforms_TLS_defaults_connects_to_a_client_certificates_AIA_url()
    {
        // Proves the host test above could fail, and why hosts need AcceptWorkloadClientCertificates: the TLS layer
        // builds the client certificate's chain before any authenticator runs, and by default it follows the URL.
        await using var server = await StartAsync(followClientCertificateUrls: true);
        using var aia = new AiaListener();
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediate = Intermediate(server.Ca, intermediateKey);
        using var leaf = Craft(Issuer.Of(intermediate, intermediateKey), aia: aia.Url);

        var refusal = CreateCertificateRefusedAsync(server, leaf);
        using var accepted = await aia.AcceptAsync(TimeSpan.FromSeconds(15));
        Assert.True(accepted is not null,
            $"a host on the platform's TLS defaults did not connect to the AIA URL {aia.Url} within 15 s, so the no-fetch host test proves nothing here");
        accepted.Dispose(); // the fetch fails at once; later attempts are closed too, so the handshake goes on
        using var stop = new CancellationTokenSource();
        var closing = aia.CloseEveryConnectionAsync(stop.Token);

        var refused = await refusal;
        await stop.CancelAsync();
        await closing;
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode); // the authenticator still refuses the chain
        Assert.Contains("does not chain to this CA's trust bundle", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_authenticator_refuses_a_chain_through_an_unknown_intermediate_without_fetching_it()
    {
        using var ca = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain });
        using var aia = new AiaListener();
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediate = Intermediate(ca, intermediateKey);
        using var leaf = Craft(Issuer.Of(intermediate, intermediateKey), aia: aia.Url);

        var result = new ClientCertificateAuthenticator(ca).Authenticate(leaf);

        Assert.False(result.Succeeded);
        Assert.Contains("does not chain to this CA's trust bundle", result.Failure, StringComparison.Ordinal);
        Assert.False(aia.Listener.Pending(), $"the authenticator connected to the certificate's AIA URL {aia.Url}");
    }

    [Fact]
    public async Task Control_a_chain_built_with_downloads_enabled_does_fetch_the_AIA_url()
    {
        // Proves the no-fetch tests could fail: the same kind of certificate makes .NET's chain builder connect to
        // the AIA URL unless downloads are disabled.
        using var ca = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain });
        using var aia = new AiaListener();
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediate = Intermediate(ca, intermediateKey);
        using var leaf = Craft(Issuer.Of(intermediate, intermediateKey), aia: aia.Url);

        var build = Task.Run(() =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca.RootCertificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.DisableCertificateDownloads = false;
            chain.ChainPolicy.UrlRetrievalTimeout = TimeSpan.FromSeconds(2);
            return chain.Build(leaf);
        });

        using var accepted = await aia.AcceptAsync(TimeSpan.FromSeconds(15));
        Assert.True(accepted is not null,
            $"a chain built with downloads enabled did not connect to the AIA URL {aia.Url} within 15 s, so the no-fetch test proves nothing here");
        accepted.Dispose(); // the fetch fails at once instead of waiting out its timeout
        using var stop = new CancellationTokenSource();
        var closing = aia.CloseEveryConnectionAsync(stop.Token);
        var built = await build.WaitAsync(Bound);
        await stop.CancelAsync();
        await closing;
        Assert.False(built, "the intermediate was never served, so the chain cannot have built");
    }

    [Fact]
    public async Task A_CA_certificate_with_a_SPIFFE_ID_is_refused_as_a_client_certificate()
    {
        await using var server = await StartAsync();
        using var caLike = Craft(Issuer.Of(server.Ca), isCa: true, usage: X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign);

        var refused = await CreateCertificateRefusedAsync(server, caLike);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("the client certificate is a CA certificate (basicConstraints cA=true)", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CA_certificate_with_a_SPIFFE_ID_cannot_open_an_SDS_stream_for_that_identity()
    {
        await using var server = await StartAsync();
        using var caLike = Craft(Issuer.Of(server.Ca), isCa: true, usage: X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign);
        await using var stream = XdsProtocolClient.Open(server.Address, NodeClaiming(Alpha, "alpha-ca"), options: server.Channel(caLike));
        await stream.SendAsync(TypeUrls.Secret, [WorkloadSecretPublisher.DefaultSecretName]);

        var status = await stream.EndAsync("a refusal of a stream proving its identity with a CA certificate", Bound);

        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("the client certificate is a CA certificate (basicConstraints cA=true)", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_only_certificate_without_clientAuth_is_refused_as_a_client_certificate()
    {
        await using var server = await StartAsync();
        using var serverOnly = Craft(Issuer.Of(server.Ca), purposes: ["1.3.6.1.5.5.7.3.1"]);

        var refused = await CreateCertificateRefusedAsync(server, serverOnly);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("extendedKeyUsage (1.3.6.1.5.5.7.3.1) lacks clientAuth (1.3.6.1.5.5.7.3.2)", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_without_any_extendedKeyUsage_is_refused_as_a_client_certificate()
    {
        await using var server = await StartAsync();
        using var unrestricted = Craft(Issuer.Of(server.Ca), purposes: []);

        var refused = await CreateCertificateRefusedAsync(server, unrestricted);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("has no extendedKeyUsage extension", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_encipherment_only_certificate_cannot_prove_an_identity_by_signing()
    {
        await using var server = await StartAsync();
        using var encipherOnly = Craft(Issuer.Of(server.Ca), usage: X509KeyUsageFlags.KeyEncipherment);

        var refused = await CreateCertificateRefusedAsync(server, encipherOnly);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("keyUsage (KeyEncipherment) lacks digitalSignature", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_without_keyUsage_is_refused_as_a_client_certificate()
    {
        await using var server = await StartAsync();
        using var noUsage = Craft(Issuer.Of(server.Ca), usage: null);

        var refused = await CreateCertificateRefusedAsync(server, noUsage);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("has no keyUsage extension", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_naming_two_identities_proves_neither()
    {
        await using var server = await StartAsync();
        using var twoIds = Craft(Issuer.Of(server.Ca), uris: [Alpha.ToString(), Beta.ToString()]);

        var refused = await CreateCertificateRefusedAsync(server, twoIds);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("the client certificate has 2 URI SANs; an X.509-SVID has exactly one", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Control_a_crafted_certificate_with_the_workload_profile_is_accepted()
    {
        // The refusals above differ from this certificate in one property each.
        await using var server = await StartAsync();
        using var valid = Craft(Issuer.Of(server.Ca));
        using var channel = GrpcChannel.ForAddress(server.Address, server.Channel(valid));
        var client = new IstioCertificateService.IstioCertificateServiceClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var response = await client.CreateCertificateAsync(new IstioCertificateRequest { Csr = TestCa.Csr(key) },
            deadline: DateTime.UtcNow + Bound);

        using var issued = X509Certificate2.CreateFromPem(response.CertChain[0]);
        Assert.Equal([Alpha.ToString()], Internal.SubjectAlternativeNames.ReadUris(issued)!);
    }

    [Fact]
    public void A_valid_client_certificates_proof_ends_at_the_earliest_NotAfter_of_its_chain()
    {
        var clock = TestCa.Clock();
        using var ca = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain }, clock);
        var now = clock.GetUtcNow();
        using var leaf = Craft(Issuer.Of(ca), notBefore: now.AddMinutes(-1), notAfter: now.AddMinutes(45));

        var result = new ClientCertificateAuthenticator(ca, clock).Authenticate(leaf);

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(Alpha, result.Identity);
        Assert.True(ca.RootCertificate.NotAfter > leaf.NotAfter, "the root must outlive the leaf for this test to pick the leaf");
        Assert.Equal(new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero), result.ValidUntil);
    }

    [Fact]
    public void A_proof_through_an_intermediate_ends_when_the_intermediate_does()
    {
        var clock = TestCa.Clock();
        using var root = CertificateAuthority.CreateSelfSigned(new CertificateAuthorityOptions { TrustDomain = TrustDomain }, clock);
        var now = clock.GetUtcNow();
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var intermediate = Intermediate(root, intermediateKey, now.AddMinutes(-1), now.AddMinutes(30));
        var folder = TestCa.TempFolder();
        try
        {
            WriteCaFolder(folder, intermediate, intermediateKey, root.RootCertificate);
            using var ca = CertificateAuthority.LoadFromFolder(folder, clock);
            using var leaf = Craft(Issuer.Of(intermediate, intermediateKey), notBefore: now.AddMinutes(-1), notAfter: now.AddHours(2));

            var result = new ClientCertificateAuthenticator(ca, clock).Authenticate(leaf);

            Assert.True(result.Succeeded, result.Failure);
            Assert.Equal(new DateTimeOffset(intermediate.NotAfter.ToUniversalTime(), TimeSpan.Zero), result.ValidUntil);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<RpcException> CreateCertificateRefusedAsync(WorkloadSecretsServer server, X509Certificate2 clientCertificate)
    {
        using var channel = GrpcChannel.ForAddress(server.Address, server.Channel(clientCertificate));
        var client = new IstioCertificateService.IstioCertificateServiceClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return await Assert.ThrowsAsync<RpcException>(() => client.CreateCertificateAsync(
            new IstioCertificateRequest { Csr = TestCa.Csr(key, sanUri: Alpha.ToString()) }, deadline: DateTime.UtcNow + Bound).ResponseAsync);
    }

    /// <summary>Who signs a crafted certificate: a name, a signing key, and the key's identifier.</summary>
    private sealed record Issuer(X500DistinguishedName Name, X509SignatureGenerator Generator, byte[] KeyIdentifier)
    {
        public static Issuer Of(CertificateAuthority ca) =>
            new(ca.SigningCertificate.SubjectName, ca.SignatureGenerator, ca.SigningKeyIdentifier.ToArray());

        public static Issuer Of(X509Certificate2 certificate, ECDsa key) =>
            new(certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(key),
                certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes.ToArray());
    }

    /// <summary>A client certificate with its key, by default with the workload profile the CA issues (one SPIFFE ID
    /// URI SAN, cA=false, digitalSignature, clientAuth); each argument changes one property. A null
    /// <paramref name="usage"/> omits keyUsage; empty <paramref name="purposes"/> omit extendedKeyUsage.</summary>
    private static X509Certificate2 Craft(Issuer issuer, bool isCa = false,
        X509KeyUsageFlags? usage = X509KeyUsageFlags.DigitalSignature, string[]? purposes = null, string[]? uris = null,
        Uri? aia = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=crafted"), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var uri in uris ?? [Alpha.ToString()])
        {
            san.AddUri(new Uri(uri));
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, false, 0, critical: true));
        if (usage is { } flags)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(flags, critical: true));
        }
        purposes ??= [ClientAuth];
        if (purposes.Length > 0)
        {
            var oids = new OidCollection();
            foreach (var purpose in purposes)
            {
                oids.Add(new Oid(purpose));
            }
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, critical: false));
        }
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(issuer.KeyIdentifier));
        if (aia is not null)
        {
            request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [aia.ToString()]));
        }
        var start = notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-1);
        using var certificate = request.Create(issuer.Name, issuer.Generator, start, notAfter ?? start.AddHours(1), RandomNumberGenerator.GetBytes(16));
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>An intermediate CA certificate for <paramref name="key"/>, signed by <paramref name="ca"/>.</summary>
    private static X509Certificate2 Intermediate(CertificateAuthority ca, ECDsa key, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var request = new CertificateRequest(new X500DistinguishedName("CN=Intermediate the server does not hold"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ca.SigningKeyIdentifier.Span));
        var start = notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-1);
        return request.Create(ca.SigningCertificate.SubjectName, ca.SignatureGenerator, start, notAfter ?? start.AddDays(1), RandomNumberGenerator.GetBytes(16));
    }

    private static void WriteCaFolder(string folder, X509Certificate2 signing, ECDsa key, X509Certificate2 root)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, CaCertsFolder.CaCertFile), signing.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(folder, CaCertsFolder.CaKeyFile), key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(Path.Combine(folder, CaCertsFolder.RootCertFile), root.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(folder, CaCertsFolder.CertChainFile), signing.ExportCertificatePem() + "\n" + root.ExportCertificatePem() + "\n");
    }

    /// <summary>A loopback TCP listener standing in for an AIA caIssuers server. Nothing accepts unless a test asks,
    /// so a connection attempt stays visible in the backlog (<see cref="TcpListener.Pending"/>).</summary>
    private sealed class AiaListener : IDisposable
    {
        public AiaListener()
        {
            Listener = new TcpListener(IPAddress.Loopback, 0);
            Listener.Start();
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)Listener.LocalEndpoint).Port}/intermediate.cer");
        }

        public TcpListener Listener { get; }

        public Uri Url { get; }

        public int Accepted { get; private set; }

        /// <summary>The next connection, or null when none comes within <paramref name="timeout"/>.</summary>
        public async Task<TcpClient?> AcceptAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                var client = await Listener.AcceptTcpClientAsync(cancel.Token);
                Accepted++;
                return client;
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        /// <summary>Accepts and closes every connection until <paramref name="stop"/> is cancelled.</summary>
        public async Task CloseEveryConnectionAsync(CancellationToken stop)
        {
            try
            {
                while (true)
                {
                    using var client = await Listener.AcceptTcpClientAsync(stop);
                    Accepted++;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose() => Listener.Dispose();
    }
}
