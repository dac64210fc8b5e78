using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using MeshHost.Istio;
using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>A workload's inbound mutual TLS mode (PeerAuthentication).</summary>
public enum MtlsMode
{
    /// <summary>Plaintext only.</summary>
    Disable,

    /// <summary>Mutual TLS and plaintext (istiod's default).</summary>
    Permissive,

    /// <summary>Mutual TLS only.</summary>
    Strict,
}

/// <summary>The inbound mTLS of one workload: a workload-wide mode and per (target) port overrides.</summary>
/// <param name="Mode">The workload-wide mode.</param>
/// <param name="PortModes">Per workload port, from the workload-level policy's <c>portLevelMtls</c>.</param>
public sealed record MtlsPolicy(MtlsMode Mode, IReadOnlyDictionary<int, MtlsMode> PortModes)
{
    /// <summary>The mode of a workload (target) port.</summary>
    public MtlsMode ForPort(int targetPort) => PortModes.TryGetValue(targetPort, out var mode) ? mode : Mode;
}

/// <summary>
/// PeerAuthentication as istiod applies it (pilot/pkg/security/authn in istio, read for the facts only): the
/// mesh-wide policy (root namespace, no selector), the namespace's (no selector) and the workload's (selector
/// matching the proxy's labels, in its namespace or the root namespace); the most specific one that sets a mode
/// wins, <c>UNSET</c> inherits, and the default is PERMISSIVE. <c>portLevelMtls</c> counts only in a policy with a
/// selector. Where several policies compete at one level the first by namespace/name wins (istiod: the oldest).
/// </summary>
public static class AuthnPolicy
{
    /// <summary>istiod's server-side cipher suites.</summary>
    public static IReadOnlyList<string> CipherSuites { get; } =
    [
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
    ];

    /// <summary>The ALPN a sidecar's inbound mTLS HTTP chain offers.</summary>
    public static IReadOnlyList<string> HttpAlpn { get; } = ["h2", "http/1.1"];

    /// <summary>The ALPN a sidecar's inbound mTLS TCP chain offers (metadata exchange first).</summary>
    public static IReadOnlyList<string> TcpAlpn { get; } = ["istio-peer-exchange", "h2", "http/1.1"];

    /// <summary>The mTLS policy of <paramref name="proxy"/>'s workload, memoised per (namespace, labels).</summary>
    public static MtlsPolicy For(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var labels = string.Join(",", proxy.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
        return context.Memo("authn|" + proxy.Namespace + "|" + labels, c => Resolve(c, proxy));
    }

    private static MtlsPolicy Resolve(PushContext context, Proxy proxy)
    {
        var root = context.Options.RootNamespace;
        (ConfigObject Object, PeerAuthenticationSpec Spec)? mesh = null, ns = null, workload = null, rootWorkload = null;
        foreach (var (obj, spec) in context.Configs<PeerAuthenticationSpec>(IstioKinds.PeerAuthentication))
        {
            var selector = spec.Selector?.MatchLabels;
            var hasSelector = selector is { Count: > 0 };
            if (!hasSelector && spec.PortLevelMtls.Count > 0)
            {
                context.Report(obj.Key, "spec.portLevelMtls: only honoured in a policy with a selector; ignored");
            }
            if (obj.Key.Namespace == proxy.Namespace)
            {
                if (hasSelector)
                {
                    if (PushContext.Matches(selector, proxy.Labels))
                    {
                        workload ??= (obj, spec);
                    }
                }
                else
                {
                    ns ??= (obj, spec);
                }
            }
            if (obj.Key.Namespace == root)
            {
                if (hasSelector)
                {
                    if (PushContext.Matches(selector, proxy.Labels))
                    {
                        rootWorkload ??= (obj, spec);
                    }
                }
                else
                {
                    mesh ??= (obj, spec);
                }
            }
        }
        workload ??= rootWorkload;

        var mode = MtlsMode.Permissive;
        foreach (var level in new[] { mesh, ns, workload })
        {
            if (level is { } policy && Parse(context, policy.Object, "spec.mtls.mode", policy.Spec.Mtls?.Mode) is { } m)
            {
                mode = m;
            }
        }
        var ports = new Dictionary<int, MtlsMode>();
        if (workload is { } w)
        {
            foreach (var (key, value) in w.Spec.PortLevelMtls)
            {
                if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
                {
                    context.Report(w.Object.Key, $"spec.portLevelMtls[{key}]: not a port number; ignored");
                    continue;
                }
                ports[port] = Parse(context, w.Object, $"spec.portLevelMtls[{key}].mode", value.Mode) ?? mode;
            }
        }
        return new MtlsPolicy(mode, ports);
    }

    private static MtlsMode? Parse(PushContext context, ConfigObject obj, string field, string? mode)
    {
        switch (mode?.ToUpperInvariant())
        {
            case null or "" or "UNSET":
                return null;
            case "DISABLE":
                return MtlsMode.Disable;
            case "PERMISSIVE":
                return MtlsMode.Permissive;
            case "STRICT":
                return MtlsMode.Strict;
            default:
                context.Report(obj.Key, $"{field}: \"{mode}\" is not UNSET, DISABLE, PERMISSIVE or STRICT; taken as UNSET");
                return null;
        }
    }

    /// <summary>
    /// The DownstreamTlsContext of a sidecar's inbound mTLS chain as istiod builds it: the workload certificate
    /// (<c>default</c>) and trust bundle (<c>ROOTCA</c>) over SDS, client certificates required, TLS 1.2 to 1.3 with
    /// istiod's cipher suites, ALPN <c>h2</c>,<c>http/1.1</c> for HTTP chains and
    /// <c>istio-peer-exchange</c>,<c>h2</c>,<c>http/1.1</c> for TCP chains.
    /// </summary>
    public static DownstreamTlsContext InboundTls(bool http)
    {
        var common = new CommonTlsContext
        {
            TlsParams = new TlsParameters
            {
                TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv12,
                TlsMaximumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv13,
                CipherSuites = { CipherSuites },
            },
            TlsCertificateSdsSecretConfigs = { TlsContexts.AgentSecret(MeshNames.DefaultSecret) },
            CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
            {
                DefaultValidationContext = new CertificateValidationContext(),
                ValidationContextSdsSecretConfig = TlsContexts.AgentSecret(MeshNames.RootCaSecret),
            },
        };
        common.AlpnProtocols.AddRange(http ? HttpAlpn : TcpAlpn);
        return new DownstreamTlsContext { CommonTlsContext = common, RequireClientCertificate = true };
    }
}
