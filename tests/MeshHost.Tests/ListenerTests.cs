using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using MeshHost.Generation;
using MeshHost.Model;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using ListenerProto = Envoy.Config.Listener.V3.Listener;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace MeshHost.Tests;

/// <summary>A small mesh for the listener tests: an HTTP service with a pod (the proxy under test), a TCP service,
/// and a client pod.</summary>
internal static class ListenerMesh
{
    public const string Yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: mysql, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.30
          selector: {app: mysql}
          ports: [{name: tcp-mysql, port: 3306, targetPort: 3306}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v1, namespace: bookinfo, labels: {app: reviews, version: v1}}
        spec: {serviceAccountName: bookinfo-reviews}
        status: {podIP: 10.1.0.7, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: mysql-0, namespace: bookinfo, labels: {app: mysql}}
        spec: {serviceAccountName: mysql}
        status: {podIP: 10.1.0.9, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    public static Proxy Reviews => MeshFixture.Proxy("10.1.0.7", "reviews-v1", "bookinfo",
        new Dictionary<string, string> { ["app"] = "reviews", ["version"] = "v1" }, serviceAccount: "bookinfo-reviews");

    public static Proxy Mysql => MeshFixture.Proxy("10.1.0.9", "mysql-0", "bookinfo",
        new Dictionary<string, string> { ["app"] = "mysql" }, serviceAccount: "mysql");

    public static ListenerProto Named(ListenerSet set, string name) =>
        set.Listeners.SingleOrDefault(l => l.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"No listener {name}; have: {string.Join(", ", set.Listeners.Select(l => l.Name))}");

    public static Hcm Hcm(FilterChain chain) =>
        ListenerParts.HttpConnectionManagerOf(chain) ?? throw new Xunit.Sdk.XunitException($"Chain {chain.Name} has no HTTP connection manager");

    public static TcpProxy Tcp(FilterChain chain) =>
        chain.Filters.Single(f => f.Name == ListenerParts.TcpProxyName).TypedConfig.Unpack<TcpProxy>();
}

public class ListenerTests
{
    [Fact]
    public async Task A_sidecar_gets_the_outbound_listeners_virtual_outbound_then_virtual_inbound()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var set = ListenerBuilder.Build(context, ListenerMesh.Reviews);
        Assert.Equal(["0.0.0.0_9080", "10.96.0.30_3306", MeshNames.VirtualOutboundListener, MeshNames.VirtualInboundListener],
            set.Listeners.Select(l => l.Name));
        Assert.Equal(["9080"], set.RouteNames);
    }

    [Fact]
    public async Task Virtual_outbound_uses_the_original_destination_and_passes_unknown_traffic_through()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualOutbound");
        Assert.Equal("0.0.0.0", listener.Address.SocketAddress.Address);
        Assert.Equal(15001u, listener.Address.SocketAddress.PortValue);
        Assert.True(listener.UseOriginalDst);
        Assert.Null(listener.BindToPort);
        Assert.Equal(TrafficDirection.Outbound, listener.TrafficDirection);
        var blackhole = listener.FilterChains[0];
        Assert.Equal("virtualOutbound-blackhole", blackhole.Name);
        Assert.Equal(15001u, blackhole.FilterChainMatch.DestinationPort);
        Assert.Equal(MeshNames.BlackHoleCluster, ListenerMesh.Tcp(blackhole).Cluster);
        var catchAll = listener.FilterChains[1];
        Assert.Equal("virtualOutbound-catchall-tcp", catchAll.Name);
        Assert.Equal(MeshNames.PassthroughCluster, ListenerMesh.Tcp(catchAll).Cluster);
        Assert.Equal(MeshNames.PassthroughCluster, ListenerMesh.Tcp(catchAll).StatPrefix);
    }

    [Fact]
    public async Task Registry_only_sends_unknown_outbound_traffic_to_the_black_hole()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml, new MeshOptions { AllowAnyOutbound = false });
        var catchAll = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualOutbound").FilterChains[1];
        Assert.Equal(MeshNames.BlackHoleCluster, ListenerMesh.Tcp(catchAll).Cluster);
        Assert.Equal(MeshNames.BlackHoleCluster, ListenerMesh.Tcp(catchAll).StatPrefix);
    }

    [Fact]
    public async Task An_http_port_gets_a_wildcard_listener_with_rds_over_ads_named_after_the_port()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "0.0.0.0_9080");
        Assert.False(listener.BindToPort);
        Assert.Equal(TrafficDirection.Outbound, listener.TrafficDirection);
        Assert.Equal(9080u, listener.Address.SocketAddress.PortValue);
        var hcm = ListenerMesh.Hcm(Assert.Single(listener.FilterChains));
        Assert.Equal("outbound_0.0.0.0_9080;", hcm.StatPrefix);
        Assert.Equal("9080", hcm.Rds.RouteConfigName);
        Assert.NotNull(hcm.Rds.ConfigSource.Ads);
        Assert.Equal(ApiVersion.V3, hcm.Rds.ConfigSource.ResourceApiVersion);
        Assert.False(hcm.UseRemoteAddress);
        Assert.True(hcm.NormalizePath);
        Assert.Equal(Hcm.Types.PathWithEscapedSlashesAction.KeepUnchanged, hcm.PathWithEscapedSlashesAction);
        Assert.Equal(["envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"], hcm.HttpFilters.Select(f => f.Name));
        Assert.Contains(hcm.UpgradeConfigs, u => u.UpgradeType == "websocket");
    }

    [Fact]
    public async Task A_tcp_port_gets_a_vip_listener_proxying_to_the_outbound_cluster()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml);
        var listener = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "10.96.0.30_3306");
        Assert.False(listener.BindToPort);
        Assert.Equal("10.96.0.30", listener.Address.SocketAddress.Address);
        var tcp = ListenerMesh.Tcp(Assert.Single(listener.FilterChains));
        Assert.Equal("outbound|3306||mysql.bookinfo.svc.cluster.local", tcp.Cluster);
        Assert.Equal(tcp.Cluster, tcp.StatPrefix);
    }

    [Fact]
    public async Task An_http_and_a_headless_tcp_service_on_one_port_keep_the_http_listener_and_report_the_tcp_one()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: legacy, namespace: bookinfo}
            spec:
              clusterIP: None
              selector: {app: legacy}
              ports: [{name: tcp, port: 9080}]
            """);
        var set = ListenerBuilder.Build(context, ListenerMesh.Reviews);
        var listener = ListenerMesh.Named(set, "0.0.0.0_9080");
        Assert.Equal("9080", ListenerMesh.Hcm(Assert.Single(listener.FilterChains)).Rds.RouteConfigName);
        var problem = Assert.Single(context.Problems, p => p.Key.Name == "legacy");
        Assert.Contains("HTTP listener wins", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tcp_service_with_its_own_address_coexists_with_an_http_listener_on_the_same_port()
    {
        var context = await MeshFixture.LoadAsync(ListenerMesh.Yaml + """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: cache, namespace: bookinfo}
            spec:
              clusterIP: 10.96.0.40
              ports: [{name: tcp, port: 9080}]
            """);
        var set = ListenerBuilder.Build(context, ListenerMesh.Reviews);
        Assert.NotNull(ListenerMesh.Named(set, "0.0.0.0_9080"));
        Assert.Equal("outbound|9080||cache.bookinfo.svc.cluster.local",
            ListenerMesh.Tcp(ListenerMesh.Named(set, "10.96.0.40_9080").FilterChains[0]).Cluster);
        Assert.DoesNotContain(context.Problems, p => p.Key.Name == "cache");
    }
}
