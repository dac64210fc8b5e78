using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Model;

namespace MeshHost.Generation;

/// <summary>The TLS pieces istiod puts on upstream clusters: SDS secret references served by istio-agent over the
/// <c>sds-grpc</c> cluster of the bootstrap, the ISTIO_MUTUAL context and the transport sockets.</summary>
public static class TlsContexts
{
    /// <summary>The transport socket name of TLS.</summary>
    public const string TlsTransportSocket = "envoy.transport_sockets.tls";

    /// <summary>The transport socket name of plaintext.</summary>
    public const string RawBufferTransportSocket = "envoy.transport_sockets.raw_buffer";

    /// <summary>ALPN of an in-mesh (ISTIO_MUTUAL) connection, with TCP metadata exchange.</summary>
    public static IReadOnlyList<string> InMeshAlpn { get; } = ["istio-peer-exchange", "istio"];

    /// <summary>ALPN of an in-mesh HTTP/2 connection, with TCP metadata exchange.</summary>
    public static IReadOnlyList<string> InMeshH2Alpn { get; } = ["istio-peer-exchange", "istio", "h2"];

    /// <summary>A secret fetched from istio-agent: <c>api_config_source</c> GRPC to the <c>sds-grpc</c> cluster,
    /// node on the first message only, V3, no initial fetch timeout (as istiod's default and ROOTCA configs).</summary>
    public static SdsSecretConfig AgentSecret(string name) => new()
    {
        Name = name,
        SdsConfig = new ConfigSource
        {
            ApiConfigSource = new ApiConfigSource
            {
                ApiType = ApiConfigSource.Types.ApiType.Grpc,
                SetNodeOnFirstMessageOnly = true,
                TransportApiVersion = ApiVersion.V3,
                GrpcServices = { new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = MeshNames.SdsCluster } } },
            },
            ResourceApiVersion = ApiVersion.V3,
            InitialFetchTimeout = new Duration(),
        },
    };

    /// <summary>A secret (a gateway's or selected workload's credential) fetched over ADS from istiod.</summary>
    public static SdsSecretConfig AdsSecret(string name) => new()
    {
        Name = name,
        SdsConfig = new ConfigSource { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 },
    };

    /// <summary>TLS 1.2 to 1.3, as istiod's upstream default.</summary>
    public static CommonTlsContext DefaultCommon() => new()
    {
        TlsParams = new TlsParameters
        {
            TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv12,
            TlsMaximumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv13,
        },
    };

    /// <summary>The ISTIO_MUTUAL context: the workload certificate (<c>default</c>) and the trust bundle
    /// (<c>ROOTCA</c>) from istio-agent, server identities matched exactly, the mesh ALPN and the SNI.</summary>
    public static UpstreamTlsContext IstioMutual(IEnumerable<string> subjectAltNames, string sni, bool http2)
    {
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        var common = DefaultCommon();
        common.TlsCertificateSdsSecretConfigs.Add(AgentSecret(MeshNames.DefaultSecret));
        var validation = new CertificateValidationContext();
        // istiod still fills the deprecated match_subject_alt_names (any SAN type), not the typed field.
#pragma warning disable CS0612
        validation.MatchSubjectAltNames.AddRange(subjectAltNames.Select(san => new StringMatcher { Exact = san }));
#pragma warning restore CS0612
        common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
        {
            DefaultValidationContext = validation,
            ValidationContextSdsSecretConfig = AgentSecret(MeshNames.RootCaSecret),
        };
        common.AlpnProtocols.AddRange(http2 ? InMeshH2Alpn : InMeshAlpn);
        return new UpstreamTlsContext { CommonTlsContext = common, Sni = sni };
    }

    /// <summary>A TLS transport socket around <paramref name="context"/>.</summary>
    public static TransportSocket Socket(UpstreamTlsContext context) =>
        new() { Name = TlsTransportSocket, TypedConfig = Any.Pack(context) };

    /// <summary>The plaintext transport socket.</summary>
    public static TransportSocket RawBuffer() =>
        new() { Name = RawBufferTransportSocket, TypedConfig = Any.Pack(new Envoy.Extensions.TransportSockets.RawBuffer.V3.RawBuffer()) };
}
