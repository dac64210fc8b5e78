using MeshHost.Generation;
using MeshHost.Model;

namespace MeshHost.Tests;

public class SidecarTests
{
    private const string Mesh = ListenerMesh.Yaml + """

        ---
        apiVersion: v1
        kind: Service
        metadata: {name: httpbin, namespace: other}
        spec:
          clusterIP: 10.96.1.10
          ports: [{name: http, port: 8000}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: istiod, namespace: istio-system}
        spec:
          clusterIP: 10.96.2.10
          ports: [{name: grpc-xds, port: 15010}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: external, namespace: other}
        spec:
          hosts: [api.example.com]
          ports: [{number: 443, name: https, protocol: TLS}]
          resolution: DNS
        """;

    private static IEnumerable<string> Hosts(PushContext context, Proxy proxy) =>
        context.VisibleServices(proxy).Select(s => s.Hostname);

    [Fact]
    public async Task Without_a_sidecar_every_exported_service_is_visible()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        Assert.Contains("httpbin.other.svc.cluster.local", Hosts(context, ListenerMesh.Reviews));
        Assert.Contains("api.example.com", Hosts(context, ListenerMesh.Reviews));
    }

    [Fact]
    public async Task Egress_hosts_hide_the_other_services_and_their_listeners()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default, namespace: bookinfo}
            spec:
              egress:
              - hosts: ["./*", "istio-system/*"]
            """);
        Assert.Equal(
            ["istiod.istio-system.svc.cluster.local", "mysql.bookinfo.svc.cluster.local", "reviews.bookinfo.svc.cluster.local"],
            Hosts(context, ListenerMesh.Reviews).Order(StringComparer.Ordinal));
        var set = ListenerBuilder.Build(context, ListenerMesh.Reviews);
        Assert.DoesNotContain(set.Listeners, l => l.Name == "0.0.0.0_8000");
        Assert.Contains(set.Listeners, l => l.Name == "0.0.0.0_15010");
        // A proxy of another namespace is not scoped by bookinfo's Sidecar.
        Assert.Contains("httpbin.other.svc.cluster.local", Hosts(context, MeshFixture.Proxy("10.1.9.9", "x", "other")));
    }

    [Fact]
    public async Task A_workload_selector_beats_the_namespace_default_which_beats_the_root_default()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default, namespace: istio-system}
            spec:
              egress: [{hosts: ["./*"]}]
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default, namespace: bookinfo}
            spec:
              egress: [{hosts: ["other/*.example.com"]}]
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: reviews, namespace: bookinfo}
            spec:
              workloadSelector: {labels: {app: reviews}}
              egress: [{hosts: ["other/httpbin.other.svc.cluster.local"]}]
              outboundTrafficPolicy: {mode: REGISTRY_ONLY}
            """);
        Assert.Equal(["httpbin.other.svc.cluster.local"], Hosts(context, ListenerMesh.Reviews));
        Assert.Equal(["api.example.com"], Hosts(context, ListenerMesh.Mysql));
        // The root default: "." is the proxy's own namespace.
        Assert.Equal(["httpbin.other.svc.cluster.local"], Hosts(context, MeshFixture.Proxy("10.1.9.9", "x", "other")).Where(h => h.StartsWith("httpbin", StringComparison.Ordinal)));
        Assert.DoesNotContain("api.example.com", Hosts(context, MeshFixture.Proxy("10.1.9.8", "y", "default")));

        Assert.False(context.AllowAnyOutbound(ListenerMesh.Reviews));
        Assert.True(context.AllowAnyOutbound(ListenerMesh.Mysql));
        var catchAll = ListenerMesh.Named(ListenerBuilder.Build(context, ListenerMesh.Reviews), "virtualOutbound").FilterChains[1];
        Assert.Equal(MeshNames.BlackHoleCluster, ListenerMesh.Tcp(catchAll).Cluster);
    }

    [Fact]
    public async Task Tilde_hides_everything_and_export_to_still_applies()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: private
              namespace: other
              annotations: {networking.istio.io/exportTo: "."}
            spec:
              clusterIP: 10.96.1.11
              ports: [{name: http, port: 8001}]
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default, namespace: bookinfo}
            spec:
              egress: [{hosts: ["*/*"]}]
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: mysql, namespace: bookinfo}
            spec:
              workloadSelector: {labels: {app: mysql}}
              egress: [{hosts: ["~/*"]}]
            """);
        Assert.DoesNotContain("private.other.svc.cluster.local", Hosts(context, ListenerMesh.Reviews));
        Assert.Contains("httpbin.other.svc.cluster.local", Hosts(context, ListenerMesh.Reviews));
        Assert.Empty(Hosts(context, ListenerMesh.Mysql));
    }

    [Fact]
    public async Task Malformed_hosts_and_unsupported_fields_are_reported()
    {
        var context = await MeshFixture.LoadAsync(Mesh + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: default, namespace: bookinfo}
            spec:
              egress:
              - port: {number: 9080, protocol: HTTP, name: http}
                hosts: ["reviews", "./*"]
            """);
        _ = context.VisibleServices(ListenerMesh.Reviews);
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.egress[0].hosts[0]", StringComparison.Ordinal));
        Assert.Contains(context.Problems, p => p.Reason.StartsWith("spec.egress[0]: port and bind", StringComparison.Ordinal));
        Assert.Contains("reviews.bookinfo.svc.cluster.local", Hosts(context, ListenerMesh.Reviews));
    }
}
