using Envoy.Config.Core.V3;
using MeshHost.Generation;
using MeshHost.Model;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace MeshHost.Tests;

public class InboundListenerTests
{
    [Fact]
    public async Task Virtual_inbound_listens_on_15006_with_original_dst_then_the_inspectors()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        Assert.Equal(15006u, listener.Address.SocketAddress.PortValue);
        Assert.Null(listener.BindToPort);
        Assert.Equal(TrafficDirection.Inbound, listener.TrafficDirection);
        Assert.Equal(["envoy.filters.listener.original_dst", "envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector"],
            listener.ListenerFilters.Select(f => f.Name));
        // The TLS inspector is on for the passthrough chains (any port) and off on 15006, where only the blackhole is.
        var tls = listener.ListenerFilters[1];
        Assert.Equal(15006, tls.FilterDisabled.DestinationPortRange.Start);
        Assert.Equal("virtualInbound-blackhole", listener.FilterChains[0].Name);
        Assert.Equal(15006u, listener.FilterChains[0].FilterChainMatch.DestinationPort);
    }

    [Fact]
    public async Task Ports_no_service_declares_pass_through_to_the_inbound_passthrough_cluster()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        var passthrough = listener.FilterChains.Where(c => c.Name is "virtualInbound" or "virtualInbound-catchall-http").ToList();
        // PERMISSIVE by default: mTLS HTTP, plaintext HTTP, mTLS TCP, plaintext TCP, other TLS.
        Assert.Equal(5, passthrough.Count);
        Assert.All(passthrough, c => Assert.Null(c.FilterChainMatch.DestinationPort));
        var http = passthrough.First(c => c.Name == "virtualInbound-catchall-http" && c.FilterChainMatch.TransportProtocol == "raw_buffer");
        Assert.Equal(["http/1.1", "h2c"], http.FilterChainMatch.ApplicationProtocols);
        var route = ListenerMesh.Hcm(http).RouteConfig;
        Assert.Equal(MeshNames.InboundPassthroughCluster, route.VirtualHosts[0].Routes[0].Route_.Cluster);
        var tcp = passthrough.First(c => c.Name == "virtualInbound" && c.FilterChainMatch.TransportProtocol == "raw_buffer");
        Assert.Equal(MeshNames.InboundPassthroughCluster, ListenerMesh.Tcp(tcp).Cluster);
    }

    [Fact]
    public async Task An_http_service_port_gets_inbound_chains_with_an_inline_route_to_the_inbound_cluster()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        var chains = listener.FilterChains.Where(c => c.Name == "0.0.0.0_8080").ToList();
        Assert.Equal(2, chains.Count); // PERMISSIVE: mTLS and plaintext
        Assert.All(chains, c => Assert.Equal(8080u, c.FilterChainMatch.DestinationPort));
        var hcm = ListenerMesh.Hcm(chains[1]);
        Assert.Equal("inbound_0.0.0.0_8080;", hcm.StatPrefix);
        Assert.False(hcm.UseRemoteAddress);
        Assert.Equal(Hcm.Types.ForwardClientCertDetails.AppendForward, hcm.ForwardClientCertDetails);
        Assert.Equal(["envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"], hcm.HttpFilters.Select(f => f.Name));
        Assert.Equal("inbound|8080||", hcm.RouteConfig.Name);
        var host = Assert.Single(hcm.RouteConfig.VirtualHosts);
        Assert.Equal("inbound|http|9080", host.Name);
        Assert.Equal(["*"], host.Domains);
        var route = Assert.Single(host.Routes);
        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal("inbound|8080||", route.Route_.Cluster);
        Assert.Equal(0, route.Route_.Timeout.Seconds);
    }

    [Fact]
    public async Task A_tcp_service_port_gets_a_tcp_proxy_to_the_inbound_cluster()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Mysql), "virtualInbound");
        var chains = listener.FilterChains.Where(c => c.Name == "0.0.0.0_3306").ToList();
        Assert.Equal(3, chains.Count); // PERMISSIVE TCP: mTLS, plaintext, the application's own TLS
        Assert.All(chains, c => Assert.Equal("inbound|3306||", ListenerMesh.Tcp(c).Cluster));
        Assert.Equal(["tls", "raw_buffer", "tls"], chains.Select(c => c.FilterChainMatch.TransportProtocol));
        Assert.NotNull(chains[0].TransportSocket);
        Assert.Null(chains[2].TransportSocket);
    }

    [Fact]
    public async Task Two_services_on_one_target_port_with_different_protocols_keep_the_first_in_registry_order_and_report_the_other()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: thrift-reviews, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.21
              selector: {app: reviews}
              ports: [{name: tcp, port: 7000, targetPort: 8080}]
            """);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualInbound");
        Assert.All(listener.FilterChains.Where(c => c.Name == "0.0.0.0_8080"), c => Assert.NotNull(ListenerParts.HttpConnectionManagerOf(c)));
        Assert.Contains(context.Problems, p => p.Key.Name == "thrift-reviews" && p.Reason.Contains("already served as HTTP", StringComparison.Ordinal));
    }
}
