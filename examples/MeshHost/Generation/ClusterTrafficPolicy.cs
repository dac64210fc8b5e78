using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Istio;
using XdsServer.Discovery;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using CoreHttpOptions = Envoy.Config.Core.V3.HttpProtocolOptions;
using EnvoyOutlier = Envoy.Config.Cluster.V3.OutlierDetection;
using IstioOutlier = MeshHost.Istio.OutlierDetection;
using Percent = Envoy.Type.V3.Percent;

namespace MeshHost.Generation;

/// <summary>What applying a traffic policy to a cluster needs to know besides the policy.</summary>
/// <param name="Rule">The DestinationRule the policy comes from (for problems), or null.</param>
/// <param name="Port">The service port.</param>
/// <param name="Outbound">Outbound (every component) or inbound (connection pool only).</param>
/// <param name="ServiceAccounts">The SPIFFE IDs of the service's endpoints (ISTIO_MUTUAL SANs).</param>
/// <param name="MutualTlsSni">The SNI of ISTIO_MUTUAL: <c>outbound_.port_.subset_.host</c>.</param>
/// <param name="AutoMutualTls">Whether auto-mTLS may apply (mesh setting on, service inside the mesh and not a
/// passthrough one).</param>
/// <param name="Sidecar">Whether the proxy is a sidecar (not a gateway).</param>
public sealed record PolicyTarget(
    ResolvedDestinationRule? Rule,
    ServicePort Port,
    bool Outbound,
    IReadOnlyList<string> ServiceAccounts,
    string MutualTlsSni,
    bool AutoMutualTls,
    bool Sidecar);

/// <summary>Applies a DestinationRule traffic policy to a cluster as istiod's cluster_traffic_policy.go and
/// cluster_tls.go do. A bad part is reported against the rule and left out; the rest still applies.</summary>
public static class ClusterTrafficPolicy
{
    /// <summary>Envoy's largest threshold: istiod's default for every circuit breaker limit (no limit).</summary>
    public const uint MaxUint32 = uint.MaxValue;

    /// <summary>The ring size istiod gives a consistent hash without one (Envoy's default).</summary>
    public const ulong DefaultMinimumRingSize = 1024;

    /// <summary>Applies <paramref name="policy"/> (null = none) to <paramref name="draft"/>.</summary>
    public static void Apply(PushContext context, ClusterDraft draft, TrafficPolicy? policy, PolicyTarget target)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(target);
        var report = Reporter(context, target.Rule);
        ApplyConnectionPool(context, draft, policy?.ConnectionPool ?? new ConnectionPoolSettings(), report);
        if (target.Outbound)
        {
            ApplyH2Upgrade(draft, policy?.ConnectionPool, report);
            ApplyOutlierDetection(draft.Cluster, policy?.OutlierDetection, report);
            ApplyLoadBalancer(draft.Cluster, policy?.LoadBalancer, report);
            ApplyTls(context, draft, policy?.Tls, target, report);
        }
        if (draft.Cluster.Type == ClusterProto.Types.DiscoveryType.OriginalDst)
        {
            draft.Cluster.LbPolicy = ClusterProto.Types.LbPolicy.ClusterProvided;
        }
    }

    /// <summary>istiod's default circuit breaker thresholds: no limit, remaining counts tracked.</summary>
    public static CircuitBreakers.Types.Thresholds DefaultThresholds() => new()
    {
        MaxRetries = MaxUint32,
        MaxRequests = MaxUint32,
        MaxConnections = MaxUint32,
        MaxPendingRequests = MaxUint32,
        TrackRemaining = true,
    };

    /// <summary>The connection pool: circuit breakers (istiod's defaults where unset; zero means unset, as in
    /// istiod), the connect timeout (mesh default unless tcp.connectTimeout), TCP keepalive, and the HTTP common
    /// options (idle timeout, requests per connection, connection duration, concurrent streams).</summary>
    public static void ApplyConnectionPool(PushContext context, ClusterDraft draft, ConnectionPoolSettings settings, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(report);
        var cluster = draft.Cluster;
        var threshold = DefaultThresholds();
        Duration? idleTimeout = null;
        Duration? maxConnectionDuration = null;
        uint maxRequestsPerConnection = 0;
        uint maxConcurrentStreams = 0;
        if (settings.Http is { } http)
        {
            if (http.Http2MaxRequests > 0)
            {
                threshold.MaxRequests = (uint)http.Http2MaxRequests;
            }
            if (http.Http1MaxPendingRequests > 0)
            {
                threshold.MaxPendingRequests = (uint)http.Http1MaxPendingRequests;
            }
            if (http.MaxRetries > 0)
            {
                threshold.MaxRetries = (uint)http.MaxRetries;
            }
            idleTimeout = ParseDuration(http.IdleTimeout, "connectionPool.http.idleTimeout", report);
            maxRequestsPerConnection = http.MaxRequestsPerConnection > 0 ? (uint)http.MaxRequestsPerConnection : 0;
            maxConcurrentStreams = http.MaxConcurrentStreams > 0 ? (uint)http.MaxConcurrentStreams : 0;
        }

        cluster.ConnectTimeout = Duration.FromTimeSpan(context.Options.ConnectTimeout);
        if (settings.Tcp is { } tcp)
        {
            if (ParseDuration(tcp.ConnectTimeout, "connectionPool.tcp.connectTimeout", report) is { } connectTimeout)
            {
                cluster.ConnectTimeout = connectTimeout;
            }
            if (tcp.MaxConnections > 0)
            {
                threshold.MaxConnections = (uint)tcp.MaxConnections;
            }
            maxConnectionDuration = ParseDuration(tcp.MaxConnectionDuration, "connectionPool.tcp.maxConnectionDuration", report);
            idleTimeout ??= ParseDuration(tcp.IdleTimeout, "connectionPool.tcp.idleTimeout", report);
            if (tcp.TcpKeepalive is { } keepalive)
            {
                var upstream = new Envoy.Config.Core.V3.TcpKeepalive();
                if (keepalive.Probes > 0)
                {
                    upstream.KeepaliveProbes = keepalive.Probes;
                }
                if (ParseDuration(keepalive.Time, "connectionPool.tcp.tcpKeepalive.time", report) is { } time)
                {
                    upstream.KeepaliveTime = (uint)time.Seconds;
                }
                if (ParseDuration(keepalive.Interval, "connectionPool.tcp.tcpKeepalive.interval", report) is { } interval)
                {
                    upstream.KeepaliveInterval = (uint)interval.Seconds;
                }
                cluster.UpstreamConnectionOptions = new UpstreamConnectionOptions { TcpKeepalive = upstream };
            }
        }
        cluster.CircuitBreakers = new CircuitBreakers { Thresholds = { threshold } };

        if (maxConnectionDuration is not null || idleTimeout is not null || maxRequestsPerConnection > 0 || maxConcurrentStreams > 0)
        {
            var options = draft.HttpOptions;
            var common = options.CommonHttpProtocolOptions ??= new CoreHttpOptions();
            if (idleTimeout is not null)
            {
                common.IdleTimeout = idleTimeout;
            }
            if (maxRequestsPerConnection > 0)
            {
                common.MaxRequestsPerConnection = maxRequestsPerConnection;
            }
            if (maxConnectionDuration is not null)
            {
                common.MaxConnectionDuration = maxConnectionDuration;
            }
            if (options.ExplicitHttpConfig?.Http2ProtocolOptions is { } h2 && maxConcurrentStreams > 0)
            {
                h2.MaxConcurrentStreams = maxConcurrentStreams;
            }
        }
        if (settings.Http?.UseClientProtocol == true)
        {
            draft.SetUseDownstreamProtocol();
        }
    }

    private static void ApplyH2Upgrade(ClusterDraft draft, ConnectionPoolSettings? pool, Action<string> report)
    {
        // The mesh's h2UpgradePolicy is DO_NOT_UPGRADE (istiod's default), so only the rule's UPGRADE upgrades.
        switch (pool?.Http?.H2UpgradePolicy?.ToUpperInvariant())
        {
            case null or "" or "DEFAULT" or "DO_NOT_UPGRADE":
                return;
            case "UPGRADE":
                draft.SetHttp2();
                return;
            default:
                report($"connectionPool.http.h2UpgradePolicy: \"{pool.Http.H2UpgradePolicy}\" is not DEFAULT, DO_NOT_UPGRADE or UPGRADE; ignored");
                return;
        }
    }

    /// <summary>Outlier detection as istiod maps it: success-rate ejection off, consecutive 5xx / gateway errors
    /// enforced at 100 % when non-zero, and the healthy panic threshold set to <c>minHealthPercent</c> (so 0, off,
    /// unless given).</summary>
    public static void ApplyOutlierDetection(ClusterProto cluster, IstioOutlier? outlier, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(report);
        if (outlier is null)
        {
            return;
        }
        var result = new EnvoyOutlier { EnforcingSuccessRate = 0 };
        if (outlier.Consecutive5xxErrors is { } e5xx)
        {
            result.Consecutive5Xx = e5xx;
            result.EnforcingConsecutive5Xx = e5xx > 0 ? 100u : 0u;
        }
        if (outlier.ConsecutiveGatewayErrors is { } gateway)
        {
            result.ConsecutiveGatewayFailure = gateway;
            result.EnforcingConsecutiveGatewayFailure = gateway > 0 ? 100u : 0u;
        }
        if (ParseDuration(outlier.Interval, "outlierDetection.interval", report) is { } interval)
        {
            result.Interval = interval;
        }
        if (ParseDuration(outlier.BaseEjectionTime, "outlierDetection.baseEjectionTime", report) is { } baseEjection)
        {
            result.BaseEjectionTime = baseEjection;
        }
        if (outlier.MaxEjectionPercent > 0)
        {
            result.MaxEjectionPercent = (uint)Math.Min(outlier.MaxEjectionPercent, 100);
        }
        if (outlier.SplitExternalLocalOriginErrors)
        {
            result.SplitExternalLocalOriginErrors = true;
            if (outlier.ConsecutiveLocalOriginFailures is > 0 and var local)
            {
                result.ConsecutiveLocalOriginFailure = local;
                result.EnforcingConsecutiveLocalOriginFailure = 100;
            }
            result.EnforcingLocalOriginSuccessRate = 0;
        }
        cluster.OutlierDetection = result;
        if (outlier.MinHealthPercent >= 0)
        {
            cluster.CommonLbConfig ??= new ClusterProto.Types.CommonLbConfig();
            cluster.CommonLbConfig.HealthyPanicThreshold = new Percent { Value = Math.Min(outlier.MinHealthPercent, 100) };
        }
    }

    /// <summary>The load balancer: LEAST_REQUEST unless the rule says ROUND_ROBIN, RANDOM or PASSTHROUGH (an
    /// ORIGINAL_DST cluster, its load assignment dropped); a consistent hash makes it RING_HASH (minimum ring size
    /// 1024 unless given) or MAGLEV. ORIGINAL_DST clusters are CLUSTER_PROVIDED whatever the rule says.
    /// Locality load balancing settings are not applied (simplification).</summary>
    public static void ApplyLoadBalancer(ClusterProto cluster, LoadBalancerSettings? lb, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(report);
        if (cluster.Type == ClusterProto.Types.DiscoveryType.OriginalDst)
        {
            cluster.LbPolicy = ClusterProto.Types.LbPolicy.ClusterProvided;
            return;
        }
        var warmup = ParseDuration(lb?.WarmupDurationSecs, "loadBalancer.warmupDurationSecs", report);
        switch (lb?.Simple?.ToUpperInvariant())
        {
            case "RANDOM":
                cluster.LbPolicy = ClusterProto.Types.LbPolicy.Random;
                break;
            case "ROUND_ROBIN":
                cluster.LbPolicy = ClusterProto.Types.LbPolicy.RoundRobin;
                if (warmup is not null)
                {
                    cluster.RoundRobinLbConfig = new ClusterProto.Types.RoundRobinLbConfig { SlowStartConfig = new ClusterProto.Types.SlowStartConfig { SlowStartWindow = warmup } };
                }
                break;
            case "PASSTHROUGH":
                cluster.LbPolicy = ClusterProto.Types.LbPolicy.ClusterProvided;
                cluster.Type = ClusterProto.Types.DiscoveryType.OriginalDst;
                cluster.LoadAssignment = null;
                break;
            case null or "" or "UNSPECIFIED" or "LEAST_CONN" or "LEAST_REQUEST":
                cluster.LbPolicy = ClusterProto.Types.LbPolicy.LeastRequest;
                if (warmup is not null)
                {
                    cluster.LeastRequestLbConfig = new ClusterProto.Types.LeastRequestLbConfig { SlowStartConfig = new ClusterProto.Types.SlowStartConfig { SlowStartWindow = warmup } };
                }
                break;
            default:
                report($"loadBalancer.simple: \"{lb.Simple}\" is not LEAST_REQUEST, ROUND_ROBIN, RANDOM or PASSTHROUGH; LEAST_REQUEST is used");
                cluster.LbPolicy = ClusterProto.Types.LbPolicy.LeastRequest;
                break;
        }

        if (lb?.ConsistentHash is not { } hash)
        {
            return;
        }
        if (hash.Maglev is { } maglev)
        {
            cluster.LbPolicy = ClusterProto.Types.LbPolicy.Maglev;
            if (maglev.TableSize != 0)
            {
                cluster.MaglevLbConfig = new ClusterProto.Types.MaglevLbConfig { TableSize = maglev.TableSize };
            }
        }
        else if (hash.RingHash is { } ring)
        {
            cluster.LbPolicy = ClusterProto.Types.LbPolicy.RingHash;
            if (ring.MinimumRingSize != 0)
            {
                cluster.RingHashLbConfig = new ClusterProto.Types.RingHashLbConfig { MinimumRingSize = ring.MinimumRingSize };
            }
        }
        else
        {
            cluster.LbPolicy = ClusterProto.Types.LbPolicy.RingHash;
            cluster.RingHashLbConfig = new ClusterProto.Types.RingHashLbConfig
            {
                MinimumRingSize = hash.MinimumRingSize != 0 ? hash.MinimumRingSize : DefaultMinimumRingSize,
            };
        }
    }

    /// <summary>Upstream TLS as istiod's buildUpstreamTLSSettings/applyUpstreamTLSSettings: the rule's mode when it
    /// has one (ISTIO_MUTUAL filled with the service accounts and SNI when not given); else, with auto-mTLS, an
    /// ISTIO_MUTUAL socket for endpoints labelled <c>tlsMode: istio</c> and plaintext for the others
    /// (<c>transport_socket_matches</c> <c>tlsMode-istio</c> / <c>tlsMode-disabled</c>), except on ORIGINAL_DST
    /// clusters. Simplification: PeerAuthentication is not consulted (a service is taken as PERMISSIVE).</summary>
    public static void ApplyTls(PushContext context, ClusterDraft draft, ClientTlsSettings? tls, PolicyTarget target, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(report);
        var cluster = draft.Cluster;
        var mode = tls?.Mode?.ToUpperInvariant();
        if (tls is not null && mode is not ("DISABLE" or "SIMPLE" or "MUTUAL" or "ISTIO_MUTUAL"))
        {
            report($"tls.mode: \"{tls.Mode}\" is not DISABLE, SIMPLE, MUTUAL or ISTIO_MUTUAL; the TLS settings are ignored");
            tls = null;
            mode = null;
        }

        UpstreamTlsContext? upstream;
        var autoDetected = false;
        if (tls is null)
        {
            if (!target.AutoMutualTls || !context.Options.AutoMutualTls)
            {
                return;
            }
            upstream = TlsContexts.IstioMutual(target.ServiceAccounts, target.MutualTlsSni, draft.IsHttp2);
            autoDetected = true;
        }
        else
        {
            upstream = mode switch
            {
                "ISTIO_MUTUAL" => TlsContexts.IstioMutual(
                    tls.SubjectAltNames is { Count: > 0 } sans ? sans : target.ServiceAccounts,
                    string.IsNullOrEmpty(tls.Sni) ? target.MutualTlsSni : tls.Sni,
                    draft.IsHttp2),
                "SIMPLE" => OriginatedTls(draft, tls, target, mutual: false, report),
                "MUTUAL" => OriginatedTls(draft, tls, target, mutual: true, report),
                _ => null, // DISABLE
            };
        }
        if (upstream is null)
        {
            return;
        }

        var socket = TlsContexts.Socket(upstream);
        if (autoDetected && cluster.Type != ClusterProto.Types.DiscoveryType.OriginalDst)
        {
            cluster.TransportSocket = null;
            cluster.TransportSocketMatches.Add(new ClusterProto.Types.TransportSocketMatch
            {
                Name = "tlsMode-istio",
                Match = new Struct { Fields = { [Model.MeshNames.TlsModeMatchKey] = Value.ForString("istio") } },
                TransportSocket = socket,
            });
            cluster.TransportSocketMatches.Add(new ClusterProto.Types.TransportSocketMatch
            {
                Name = "tlsMode-disabled",
                Match = new Struct(),
                TransportSocket = TlsContexts.RawBuffer(),
            });
        }
        else
        {
            cluster.TransportSocket = socket;
        }
    }

    /// <summary>SIMPLE or MUTUAL TLS origination. A credentialName makes the certificates come from istiod over
    /// ADS (<c>kubernetes://name</c>, CA <c>kubernetes://name-cacert</c>), but, as in istiod, a sidecar gets no TLS
    /// at all from a credentialName in a rule without a workload selector; else files served by istio-agent
    /// (<c>file-cert:cert~key</c>, <c>file-root:ca</c>, the system roots by default).</summary>
    private static UpstreamTlsContext? OriginatedTls(ClusterDraft draft, ClientTlsSettings tls, PolicyTarget target, bool mutual, Action<string> report)
    {
        var hasSelector = target.Rule?.Spec.WorkloadSelector?.MatchLabels is { Count: > 0 };
        if (!string.IsNullOrEmpty(tls.CredentialName) && target.Sidecar && !hasSelector)
        {
            return null;
        }
        var context = new UpstreamTlsContext { CommonTlsContext = TlsContexts.DefaultCommon(), Sni = tls.Sni ?? string.Empty };
        var common = context.CommonTlsContext;

        // auto_sni / auto_san_validation when the rule gives no SNI / no SANs.
        var autoSni = string.IsNullOrEmpty(tls.Sni);
        var autoSan = autoSni && tls.SubjectAltNames is not { Count: > 0 } && tls.InsecureSkipVerify != true;
        if (autoSni || autoSan)
        {
            var upstream = draft.HttpOptions.UpstreamHttpProtocolOptions ??= new UpstreamHttpProtocolOptions();
            upstream.AutoSni |= autoSni;
            upstream.AutoSanValidation |= autoSan;
        }

        // istiod falls back to a ServiceEntry's subjectAltNames here, which the registry does not carry.
        var sans = tls.SubjectAltNames ?? [];
        if (!string.IsNullOrEmpty(tls.CredentialName))
        {
            var name = tls.CredentialName.Contains("://", StringComparison.Ordinal) ? tls.CredentialName : "kubernetes://" + tls.CredentialName;
            if (mutual)
            {
                common.TlsCertificateSdsSecretConfigs.Add(TlsContexts.AdsSecret(name));
            }
            common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
            {
                DefaultValidationContext = Validation(sans),
                ValidationContextSdsSecretConfig = TlsContexts.AdsSecret(name + "-cacert"),
            };
        }
        else
        {
            if (mutual)
            {
                if (string.IsNullOrEmpty(tls.ClientCertificate) || string.IsNullOrEmpty(tls.PrivateKey))
                {
                    report("tls: MUTUAL needs clientCertificate and privateKey (or credentialName); no TLS is set up");
                    return null;
                }
                common.TlsCertificateSdsSecretConfigs.Add(TlsContexts.AgentSecret($"file-cert:{tls.ClientCertificate}~{tls.PrivateKey}"));
            }
            if (tls.InsecureSkipVerify == true)
            {
                common.ValidationContext = new CertificateValidationContext();
            }
            else
            {
                var ca = string.IsNullOrEmpty(tls.CaCertificates) ? "system" : tls.CaCertificates;
                common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = Validation(sans),
                    ValidationContextSdsSecretConfig = TlsContexts.AgentSecret("file-root:" + ca),
                };
            }
        }
        if (draft.IsHttp2)
        {
            common.AlpnProtocols.Add("h2");
        }
        return context;
    }

    private static CertificateValidationContext Validation(IEnumerable<string> sans)
    {
        var validation = new CertificateValidationContext();
        // istiod still fills the deprecated match_subject_alt_names (any SAN type), not the typed field.
#pragma warning disable CS0612
        validation.MatchSubjectAltNames.AddRange(sans.Select(s => new StringMatcher { Exact = s }));
#pragma warning restore CS0612
        return validation;
    }

    /// <summary>Reports against <paramref name="rule"/> (nothing when there is none).</summary>
    public static Action<string> Reporter(PushContext context, ResolvedDestinationRule? rule)
    {
        ArgumentNullException.ThrowIfNull(context);
        return rule is null ? static _ => { } : reason => context.Report(rule.Config.Key, "spec.trafficPolicy." + reason);
    }

    /// <summary>A duration field, or null when absent or unparsable (reported).</summary>
    public static Duration? ParseDuration(string? text, string field, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        try
        {
            return Duration.FromTimeSpan(IstioJson.Duration(text, field));
        }
        catch (FormatException e)
        {
            report(e.Message + "; ignored");
            return null;
        }
    }
}
