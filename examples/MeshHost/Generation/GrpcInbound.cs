using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Model;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using RouteProto = Envoy.Config.Route.V3;

namespace MeshHost.Generation;

/// <summary>
/// The server side of a proxyless gRPC workload (gRFC A36, xDS-enabled servers), built to the shape of istiod's
/// grpcgen inbound listeners: a listener <c>xds.istio.io/grpc/lds/inbound/&lt;ip&gt;:&lt;port&gt;</c> per port the
/// workload serves (a service target port), listening on the address and port of its name, with one filter chain:
/// <c>inbound-plaintext</c>, or <c>inbound-mtls</c> (TLS from the gRPC bootstrap's certificate provider
/// <c>default</c>, client certificate required) when PeerAuthentication makes the port STRICT. Its HTTP connection
/// manager holds an inline route configuration <c>inbound</c> (every path, non-forwarding action) and runs the
/// RBAC filters of the AuthorizationPolicies that apply (<c>envoy.filters.http.rbac.DENY</c> first, then
/// <c>envoy.filters.http.rbac</c>), then the router.
/// </summary>
/// <remarks>
/// <para>gRPC has no PERMISSIVE: as istiod, PERMISSIVE becomes plaintext, except for a workload labelled
/// <c>security.istio.io/tlsMode: istio</c> (whose clients use auto-mTLS), which gets mTLS.</para>
/// <para>istiod builds the listener names a server asks for, whatever address it binds; a snapshot cache serves a
/// fixed set, so this builds the names for <c>0.0.0.0</c>, <c>[::]</c> and each of the proxy's IPs.</para>
/// <para>None of the real clients in tests/clients runs an xDS-enabled server, so these listeners are checked for
/// their shape only (tests/MeshHost.Tests/GrpcGeneratorTests.cs).</para>
/// </remarks>
public static partial class GrpcInbound
{
    /// <summary>The prefix of a gRPC server's listener name (istio-agent's gRPC bootstrap template).</summary>
    public const string ListenerPrefix = "xds.istio.io/grpc/lds/inbound/";

    /// <summary>The transport socket name gRPC requires.</summary>
    public const string TlsTransportSocket = "envoy.transport_sockets.tls";

    /// <summary>The RBAC filter names of istiod's grpcgen: DENY, then ALLOW.</summary>
    public const string RbacDeny = "envoy.filters.http.rbac.DENY";

    /// <summary>The ALLOW RBAC filter's name.</summary>
    public const string RbacAllow = "envoy.filters.http.rbac";

    /// <summary>The inbound listeners of the proxyless workload <paramref name="proxy"/>.</summary>
    public static IReadOnlyList<ListenerProto> Build(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        var ports = context.ServiceTargets(proxy).Select(t => t.TargetPort).Distinct().Order().ToList();
        if (ports.Count == 0)
        {
            return [];
        }
        var mtls = AuthnPolicy.For(context, proxy);
        var rbac = RbacHttpFilters(context, proxy);
        var hosts = new List<string> { "0.0.0.0", "[::]" };
        hosts.AddRange(proxy.IpAddresses.Select(ip => IPAddress.TryParse(ip, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip));
        var listeners = new List<ListenerProto>();
        foreach (var port in ports)
        {
            var chain = FilterChain(UsesMtls(mtls.ForPort(port), proxy), rbac);
            foreach (var host in hosts.Distinct(StringComparer.Ordinal))
            {
                listeners.Add(new ListenerProto
                {
                    Name = string.Create(CultureInfo.InvariantCulture, $"{ListenerPrefix}{host}:{port}"),
                    Address = new Address { SocketAddress = new Envoy.Config.Core.V3.SocketAddress { Address = host.Trim('[', ']'), PortValue = (uint)port } },
                    FilterChains = { chain.Clone() },
                });
            }
        }
        return listeners;
    }

    /// <summary>Whether a port's mode means mTLS for a gRPC server (no PERMISSIVE in gRPC; see the class).</summary>
    public static bool UsesMtls(MtlsMode mode, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        return mode == MtlsMode.Strict
            || (mode == MtlsMode.Permissive && proxy.Labels.TryGetValue("security.istio.io/tlsMode", out var tlsMode) && tlsMode == "istio");
    }

    /// <summary>The TLS context of istiod's grpcgen: the workload certificate and the root from the gRPC
    /// bootstrap's certificate provider instance <c>default</c> (certificates <c>default</c> and <c>ROOTCA</c>),
    /// in the fields gRPC releases before 1.66 read.</summary>
    public static CommonTlsContext CommonTls()
    {
#pragma warning disable CS0612 // the certificate provider fields every gRPC release reads
        return new CommonTlsContext
        {
            TlsCertificateCertificateProviderInstance = new CommonTlsContext.Types.CertificateProviderInstance { InstanceName = "default", CertificateName = "default" },
            CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
            {
                DefaultValidationContext = new CertificateValidationContext(),
                ValidationContextCertificateProviderInstance = new CommonTlsContext.Types.CertificateProviderInstance { InstanceName = "default", CertificateName = "ROOTCA" },
            },
        };
#pragma warning restore CS0612
    }

    private static FilterChain FilterChain(bool mtls, IReadOnlyList<HttpFilter> rbac)
    {
        var suffix = mtls ? "mtls" : "plaintext";
        var host = new RouteProto.VirtualHost { Name = "inbound", Domains = { "*" } };
        host.Routes.Add(new RouteProto.Route
        {
            Match = new RouteProto.RouteMatch { Prefix = "/" },
            NonForwardingAction = new RouteProto.NonForwardingAction(),
        });
        var hcm = new HttpConnectionManager
        {
            RouteConfig = new RouteProto.RouteConfiguration { Name = "inbound", VirtualHosts = { host } },
        };
        hcm.HttpFilters.Add(rbac.Select(f => f.Clone()));
        hcm.HttpFilters.Add(new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Envoy.Extensions.Filters.Http.Router.V3.Router()) });
        var chain = new FilterChain
        {
            Name = "inbound-" + suffix,
            Filters = { new Filter { Name = "inbound-hcm" + suffix, TypedConfig = Any.Pack(hcm) } },
        };
        if (mtls)
        {
            chain.TransportSocket = new TransportSocket
            {
                Name = TlsTransportSocket,
                TypedConfig = Any.Pack(new DownstreamTlsContext { CommonTlsContext = CommonTls(), RequireClientCertificate = true }),
            };
        }
        return chain;
    }

    /// <summary>The sidecar's RBAC translation (<see cref="RbacFilters.Http"/>) under grpcgen's names: the DENY
    /// filter <c>envoy.filters.http.rbac.DENY</c>, the ALLOW filter <c>envoy.filters.http.rbac</c>, and policies
    /// named <c>&lt;namespace&gt;-&lt;policy&gt;-&lt;rule index&gt;</c>.</summary>
    private static List<HttpFilter> RbacHttpFilters(PushContext context, Proxy proxy)
    {
        var filters = new List<HttpFilter>();
        foreach (var filter in RbacFilters.Http(context, proxy))
        {
            var config = filter.TypedConfig.Unpack<HttpRbac>();
            if (config.Rules is not { } rules || rules.Policies.Count == 0)
            {
                continue;
            }
            var renamed = rules.Policies.ToDictionary(p => SidecarPolicyName().Replace(p.Key, "$1-$2-$3"), p => p.Value, StringComparer.Ordinal);
            rules.Policies.Clear();
            rules.Policies.Add(renamed);
            var deny = rules.Action == Envoy.Config.Rbac.V3.RBAC.Types.Action.Deny;
            filters.Add(new HttpFilter { Name = deny ? RbacDeny : RbacAllow, TypedConfig = Any.Pack(new HttpRbac { Rules = rules }) });
        }
        return [.. filters.OrderBy(f => f.Name == RbacDeny ? 0 : 1)];
    }

    [GeneratedRegex(@"^ns\[(.*)\]-policy\[(.*)\]-rule\[(\d+)\]$")]
    private static partial Regex SidecarPolicyName();
}
