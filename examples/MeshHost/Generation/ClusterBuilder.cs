using System.Net;
using SocketAddress = Envoy.Config.Core.V3.SocketAddress;
using System.Net.Sockets;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Model;
using XdsServer.Discovery;
using ClusterLoadAssignment = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using DiscoveryType = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType;
using HashPolicy = Envoy.Config.Route.V3.RouteAction.Types.HashPolicy;

namespace MeshHost.Generation;

/// <summary>
/// Builds a proxy's clusters as istiod does (pilot/pkg/networking/core/cluster.go, cluster_builder.go): outbound per
/// visible service port and DestinationRule subset, inbound per own service target port, and the fixed ones
/// (BlackHoleCluster, PassthroughCluster, InboundPassthroughCluster). Gateways (routers) get the outbound clusters and
/// BlackHoleCluster only: they have no original-destination listeners, so istiod gives them no passthrough clusters.
/// </summary>
/// <remarks>
/// Cluster types: EDS for Kubernetes Services (headless ones too: simplification, istiod makes a headless Service an
/// ORIGINAL_DST cluster unless PILOT_ENABLE_EDS_FOR_HEADLESS_SERVICES; a manifest Service without a clusterIP cannot be
/// told from a headless one here) and ServiceEntries with resolution STATIC; STRICT_DNS / LOGICAL_DNS for DNS /
/// DNS_ROUND_ROBIN, endpoints inline; for NONE, ORIGINAL_DST for a sidecar (EDS for a gateway, as istiod), except that
/// a NONE entry with inline endpoints (which istiod's validation refuses) is EDS. Not generated: the
/// istio.metadata_exchange cluster filter and locality load balancing (their protos are not in the API package or the
/// settings are optional), HBONE, EnvoyFilter patches, the mesh's outbound/inbound cluster stat names.
/// </remarks>
public static class ClusterBuilder
{
    /// <summary>istiod's largest protobuf duration in seconds: an inbound ORIGINAL_DST cluster's cleanup interval
    /// (never clean up).</summary>
    public const long MaxDurationSeconds = 9223372035;

    /// <summary>The source address of inbound passthrough traffic (iptables lets it through to the workload).</summary>
    public const string InboundPassthroughBindIpv4 = "127.0.0.6";

    /// <summary>The IPv6 source address of inbound passthrough traffic.</summary>
    public const string InboundPassthroughBindIpv6 = "::6";

    /// <summary>The mesh's DNS refresh rate (MeshConfig <c>dnsRefreshRate</c> default).</summary>
    public static readonly TimeSpan DnsRefreshRate = TimeSpan.FromSeconds(60);

    /// <summary>The clusters of <paramref name="proxy"/>.</summary>
    public static IReadOnlyList<ClusterProto> Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var clusters = new List<ClusterProto>();
        foreach (var service in context.VisibleServices(proxy))
        {
            foreach (var port in service.Ports)
            {
                clusters.AddRange(BuildOutbound(context, proxy, service, port));
            }
        }
        clusters.Add(BlackHoleCluster(context));
        if (proxy.Type == ProxyType.Sidecar)
        {
            clusters.Add(PassthroughCluster(context));
            clusters.AddRange(BuildInbound(context, proxy));
            clusters.Add(InboundPassthroughCluster(context, proxy));
        }
        // Conflicting service definitions can give one name twice: the first wins, as istiod's normalizeClusters.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. clusters.Where(c => seen.Add(c.Name))];
    }

    /// <summary>The outbound clusters of one service port as <paramref name="proxy"/> sees it: the default
    /// <c>outbound|port||host</c> and one per DestinationRule subset. Used by <see cref="Build"/> and by the proxyless
    /// gRPC generator.</summary>
    public static IReadOnlyList<ClusterProto> BuildOutbound(PushContext context, Proxy proxy, DiscoveredService service, ServicePort port)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(port);
        if (port.Protocol == ServicePortProtocol.Udp)
        {
            return [];
        }
        var type = DiscoveryTypeOf(context, proxy, service);
        var draft = BaseCluster(context, proxy, MeshNames.OutboundCluster(port.Port, null, service.Hostname), type, service, port, null);
        if (draft is null)
        {
            return []; // a DNS/STATIC cluster without endpoints, as istiod
        }

        var rule = ClusterDestinationRules.For(context, proxy, service.Hostname, service.Key.Namespace);
        var portPolicy = ClusterDestinationRules.ForPort(rule?.Spec.TrafficPolicy, port.Port);
        var target = new PolicyTarget(
            rule,
            port,
            Outbound: true,
            ServiceAccounts(context, service),
            MeshNames.MutualTlsSni(port.Port, null, service.Hostname),
            // No auto-mTLS to services outside the mesh nor to passthrough (ORIGINAL_DST) services.
            AutoMutualTls: !service.MeshExternal && type != DiscoveryType.OriginalDst,
            Sidecar: proxy.Type == ProxyType.Sidecar);
        ClusterTrafficPolicy.Apply(context, draft, portPolicy, target);
        Finish(draft.Cluster, service, port, rule, null);
        var result = new List<ClusterProto> { draft.Build() };
        if (rule is null)
        {
            return result;
        }

        foreach (var subset in ClusterDestinationRules.Subsets(rule.Spec))
        {
            // A subset is of the default cluster's (final) type, unless its own load balancer is PASSTHROUGH.
            var subsetType = string.Equals(subset.TrafficPolicy?.LoadBalancer?.Simple, "PASSTHROUGH", StringComparison.OrdinalIgnoreCase)
                ? DiscoveryType.OriginalDst
                : draft.Cluster.Type;
            var subsetDraft = BaseCluster(context, proxy, MeshNames.OutboundCluster(port.Port, subset.Name, service.Hostname), subsetType, service, port, subset.Labels);
            if (subsetDraft is null)
            {
                continue;
            }
            var policy = ClusterDestinationRules.ForSubset(portPolicy, subset.TrafficPolicy, port.Port);
            ClusterTrafficPolicy.Apply(context, subsetDraft, policy, target with { MutualTlsSni = MeshNames.MutualTlsSni(port.Port, subset.Name, service.Hostname) });
            Finish(subsetDraft.Cluster, service, port, rule, subset.Name);
            result.Add(subsetDraft.Build());
        }
        return result;
    }

    /// <summary>
    /// The inbound clusters of a sidecar: one <c>inbound|targetPort||</c> per port its workload serves for a service
    /// (the first service wins a shared port). Choice, as istiod ≥ 1.10 with its default inbound traffic policy
    /// (PASSTHROUGH): an ORIGINAL_DST cluster (CLUSTER_PROVIDED, never cleaned up) whose upstream connections are
    /// bound to 127.0.0.6 (::6 for an IPv6-only workload), so traffic reaches the application on the pod IP it was
    /// sent to and iptables does not capture it again. Only the connection pool of a DestinationRule applies.
    /// </summary>
    public static IReadOnlyList<ClusterProto> BuildInbound(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var result = new List<ClusterProto>();
        foreach (var group in context.ServiceTargets(proxy).GroupBy(t => t.TargetPort))
        {
            var primary = group.First();
            var name = MeshNames.InboundCluster(group.Key);
            var cluster = new ClusterProto
            {
                Name = name,
                Type = DiscoveryType.OriginalDst,
                CommonLbConfig = new ClusterProto.Types.CommonLbConfig(),
                AltStatName = name + ";",
                CleanupInterval = new Duration { Seconds = MaxDurationSeconds },
                UpstreamBindConfig = new BindConfig { SourceAddress = Bind(SupportsIpv4(proxy) ? InboundPassthroughBindIpv4 : InboundPassthroughBindIpv6) },
            };
            var draft = new ClusterDraft(cluster);
            SetUpstreamProtocol(draft, primary.Port, sidecar: true);
            cluster.Metadata = new Metadata();
            cluster.Metadata.FilterMetadata["istio"] = ServicesMetadata(group.Select(t => t.Service).Distinct(), null);
            var rule = ClusterDestinationRules.For(context, proxy, primary.Service.Hostname, primary.Service.Key.Namespace);
            ClusterTrafficPolicy.Apply(context, draft, ClusterDestinationRules.ForPort(rule?.Spec.TrafficPolicy, primary.Port.Port),
                new PolicyTarget(rule, primary.Port, Outbound: false, [], string.Empty, AutoMutualTls: false, Sidecar: true));
            result.Add(draft.Build());
        }
        return result;
    }

    /// <summary>BlackHoleCluster: STATIC without endpoints, so traffic routed to it is dropped.</summary>
    public static ClusterProto BlackHoleCluster(PushContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ClusterProto
        {
            Name = MeshNames.BlackHoleCluster,
            Type = DiscoveryType.Static,
            ConnectTimeout = Duration.FromTimeSpan(context.Options.ConnectTimeout),
            LbPolicy = ClusterProto.Types.LbPolicy.RoundRobin,
            AltStatName = MeshNames.BlackHoleCluster + ";",
        };
    }

    /// <summary>PassthroughCluster: ORIGINAL_DST (CLUSTER_PROVIDED), the downstream's HTTP version, 5 minutes idle
    /// timeout, istiod's default circuit breakers.</summary>
    public static ClusterProto PassthroughCluster(PushContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var draft = new ClusterDraft(new ClusterProto
        {
            Name = MeshNames.PassthroughCluster,
            Type = DiscoveryType.OriginalDst,
            ConnectTimeout = Duration.FromTimeSpan(context.Options.ConnectTimeout),
            LbPolicy = ClusterProto.Types.LbPolicy.ClusterProvided,
            AltStatName = MeshNames.PassthroughCluster + ";",
        });
        draft.HttpOptions.CommonHttpProtocolOptions = new HttpProtocolOptions { IdleTimeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) };
        draft.SetUseDownstreamProtocol();
        ClusterTrafficPolicy.ApplyConnectionPool(context, draft, new Istio.ConnectionPoolSettings(), static _ => { });
        return draft.Build();
    }

    /// <summary>InboundPassthroughCluster: <see cref="PassthroughCluster"/> with upstream connections bound to
    /// 127.0.0.6 (and ::6 for a dual-stack workload; ::6 alone for an IPv6-only one).</summary>
    public static ClusterProto InboundPassthroughCluster(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var cluster = PassthroughCluster(context);
        cluster.Name = MeshNames.InboundPassthroughCluster;
        cluster.AltStatName = MeshNames.InboundPassthroughCluster + ";";
        var ipv4 = SupportsIpv4(proxy);
        cluster.UpstreamBindConfig = new BindConfig { SourceAddress = Bind(ipv4 ? InboundPassthroughBindIpv4 : InboundPassthroughBindIpv6) };
        if (ipv4 && SupportsIpv6(proxy))
        {
            cluster.UpstreamBindConfig.ExtraSourceAddresses.Add(new ExtraSourceAddress { Address = Bind(InboundPassthroughBindIpv6) });
        }
        return cluster;
    }

    /// <summary>The route hash policy of a destination for the route builder: the consistent hash key of the
    /// DestinationRule (port level and subset merged) as Envoy's <c>hash_policy</c> (header, cookie, source IP or
    /// query parameter); empty when the destination has no consistent hash.</summary>
    public static IReadOnlyList<HashPolicy> HashPolicyFor(PushContext context, Proxy proxy, string host, int port, string? subset)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(host);
        var rule = ClusterDestinationRules.ForHost(context, proxy, host);
        if (rule is null)
        {
            return [];
        }
        var policy = ClusterDestinationRules.ForPort(rule.Spec.TrafficPolicy, port);
        if (!string.IsNullOrEmpty(subset))
        {
            var s = ClusterDestinationRules.Subsets(rule.Spec).FirstOrDefault(x => x.Name == subset);
            policy = ClusterDestinationRules.ForSubset(policy, s?.TrafficPolicy, port);
        }
        if (policy?.LoadBalancer?.ConsistentHash is not { } hash)
        {
            return [];
        }
        HashPolicy? result = null;
        if (!string.IsNullOrEmpty(hash.HttpHeaderName))
        {
            result = new HashPolicy { Header = new HashPolicy.Types.Header { HeaderName = hash.HttpHeaderName } };
        }
        else if (hash.HttpCookie is { } cookie)
        {
            var c = new HashPolicy.Types.Cookie { Name = cookie.Name, Path = cookie.Path ?? string.Empty };
            if (ClusterTrafficPolicy.ParseDuration(cookie.Ttl, "loadBalancer.consistentHash.httpCookie.ttl", ClusterTrafficPolicy.Reporter(context, rule)) is { } ttl)
            {
                c.Ttl = ttl;
            }
            result = new HashPolicy { Cookie = c };
        }
        else if (hash.UseSourceIp is { } sourceIp)
        {
            result = new HashPolicy { ConnectionProperties = new HashPolicy.Types.ConnectionProperties { SourceIp = sourceIp } };
        }
        else if (!string.IsNullOrEmpty(hash.HttpQueryParameterName))
        {
            result = new HashPolicy { QueryParameter = new HashPolicy.Types.QueryParameter { Name = hash.HttpQueryParameterName } };
        }
        return result is null ? [] : [result];
    }

    /// <summary>The SPIFFE IDs of the service accounts of a service's endpoints (ISTIO_MUTUAL SAN matching),
    /// sorted.</summary>
    public static IReadOnlyList<string> ServiceAccounts(PushContext context, DiscoveredService service)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(service);
        return context.Memo("clusters.service-accounts|" + service.Key, c =>
        {
            var ids = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var endpoint in c.Registry.EndpointsOf(service.Key))
            {
                var view = EndpointBuilder.View(c, endpoint);
                if (view.ServiceAccount is { Length: > 0 } account)
                {
                    var ns = endpoint.Workload?.Namespace is { Length: > 0 } workloadNs ? workloadNs : service.Key.Namespace;
                    ids.Add(MeshNames.SpiffeId(c.Options.TrustDomain, ns, account));
                }
            }
            return (IReadOnlyList<string>)[.. ids];
        });
    }

    /// <summary>The Envoy cluster type of a service for a proxy (see the remarks of <see cref="ClusterBuilder"/>).</summary>
    public static DiscoveryType DiscoveryTypeOf(PushContext context, Proxy proxy, DiscoveredService service)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(service);
        switch (service.Resolution)
        {
            case "DNS":
                return DiscoveryType.StrictDns;
            case "DNS_ROUND_ROBIN":
                return DiscoveryType.LogicalDns;
            case "NONE":
                if (proxy.Type == ProxyType.Router)
                {
                    return DiscoveryType.Eds; // gateways cannot use passthrough clusters
                }
                var inline = context.Registry.EndpointGroupsOf(service.Key)
                    .Any(g => g.Key.Kind == XdsServer.Kubernetes.KubernetesTranslator.ServiceEntryEndpointsKind && g.Endpoints.Count > 0);
                return inline ? DiscoveryType.Eds : DiscoveryType.OriginalDst;
            default:
                return DiscoveryType.Eds; // Kubernetes Services, STATIC
        }
    }

    private static ClusterDraft? BaseCluster(PushContext context, Proxy proxy, string name, DiscoveryType type, DiscoveredService service,
        ServicePort port, IReadOnlyDictionary<string, string>? subsetLabels)
    {
        var cluster = new ClusterProto
        {
            Name = name,
            Type = type,
            CommonLbConfig = new ClusterProto.Types.CommonLbConfig(),
            AltStatName = name + ";",
        };
        if (type is DiscoveryType.StrictDns or DiscoveryType.LogicalDns)
        {
            // Dual stack is off by default in istiod: V4_ONLY unless every proxy address is IPv6.
            cluster.DnsLookupFamily = SupportsIpv4(proxy) ? ClusterProto.Types.DnsLookupFamily.V4Only : ClusterProto.Types.DnsLookupFamily.V6Only;
            cluster.DnsRefreshRate = Duration.FromTimeSpan(DnsRefreshRate);
            cluster.RespectDnsTtl = true;
        }
        if (type is DiscoveryType.StrictDns or DiscoveryType.LogicalDns or DiscoveryType.Static)
        {
            var endpoints = EndpointBuilder.LocalityEndpoints(context, service, port, subsetLabels, dns: true);
            if (type == DiscoveryType.LogicalDns && endpoints.Count > 0)
            {
                // LOGICAL_DNS takes exactly one host.
                var first = endpoints[0];
                while (first.LbEndpoints.Count > 1)
                {
                    first.LbEndpoints.RemoveAt(first.LbEndpoints.Count - 1);
                }
                first.LoadBalancingWeight = first.LbEndpoints[0].LoadBalancingWeight;
                endpoints = [first];
            }
            if (endpoints.Count == 0)
            {
                return null;
            }
            cluster.LoadAssignment = new ClusterLoadAssignment { ClusterName = name, Endpoints = { endpoints } };
        }
        var draft = new ClusterDraft(cluster);
        SetUpstreamProtocol(draft, port, proxy.Type == ProxyType.Sidecar);
        return draft;
    }

    /// <summary>HTTP/2 to HTTP2 and gRPC ports; for a sidecar, the downstream's protocol on a port of unknown protocol
    /// (istiod sniffs those).</summary>
    private static void SetUpstreamProtocol(ClusterDraft draft, ServicePort port, bool sidecar)
    {
        if (port.Protocol is ServicePortProtocol.Http2 or ServicePortProtocol.Grpc or ServicePortProtocol.GrpcWeb)
        {
            draft.SetHttp2();
        }
        else if (sidecar && port.Protocol == ServicePortProtocol.Unknown)
        {
            draft.SetUseDownstreamProtocol();
        }
    }

    /// <summary>EDS through ADS (after the policy, which may have made the cluster ORIGINAL_DST) and istiod's
    /// <c>istio</c> cluster metadata.</summary>
    private static void Finish(ClusterProto cluster, DiscoveredService service, ServicePort port, ResolvedDestinationRule? rule, string? subset)
    {
        if (cluster.Type == DiscoveryType.Eds)
        {
            cluster.EdsClusterConfig = new ClusterProto.Types.EdsClusterConfig
            {
                ServiceName = cluster.Name,
                EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource(), InitialFetchTimeout = new Duration(), ResourceApiVersion = ApiVersion.V3 },
            };
        }
        var istio = ServicesMetadata([service], port.Port);
        if (service.MeshExternal)
        {
            istio.Fields["external"] = Value.ForBool(true);
        }
        if (rule is not null)
        {
            istio.Fields["config"] = Value.ForString($"/apis/networking.istio.io/v1/namespaces/{rule.Config.Key.Namespace}/destination-rule/{rule.Config.Key.Name}");
        }
        if (subset is not null)
        {
            istio.Fields["subset"] = Value.ForString(subset);
        }
        cluster.Metadata = new Metadata();
        cluster.Metadata.FilterMetadata["istio"] = istio;
    }

    private static Struct ServicesMetadata(IEnumerable<DiscoveredService> services, int? defaultPort)
    {
        var list = new ListValue();
        foreach (var service in services)
        {
            var name = service.Key.Kind == RegistryKinds.Service ? service.Key.Name : service.Hostname;
            list.Values.Add(Value.ForStruct(new Struct
            {
                Fields =
                {
                    ["host"] = Value.ForString(service.Hostname),
                    ["name"] = Value.ForString(name),
                    ["namespace"] = Value.ForString(service.Key.Namespace),
                },
            }));
        }
        var istio = new Struct { Fields = { ["services"] = Value.ForList([.. list.Values]) } };
        if (defaultPort is { } port)
        {
            istio.Fields["default_original_port"] = Value.ForNumber(port);
        }
        return istio;
    }

    private static SocketAddress Bind(string address) => new() { Address = address, PortValue = 0 };

    private static bool SupportsIpv4(Proxy proxy) =>
        proxy.IpAddresses.Any(ip => IPAddress.TryParse(ip, out var a) && a.AddressFamily == AddressFamily.InterNetwork);

    private static bool SupportsIpv6(Proxy proxy) =>
        proxy.IpAddresses.Any(ip => IPAddress.TryParse(ip, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6);
}
