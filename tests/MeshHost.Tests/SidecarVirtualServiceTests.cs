using MeshHost.Generation;

namespace MeshHost.Tests;

/// <summary>A Sidecar's egress hosts select VirtualServices as well as services (istiod's SidecarScope imports a
/// VirtualService only from a namespace its egress hosts name, or "*").</summary>
public class SidecarVirtualServiceTests
{
    private const string Mesh = """
        apiVersion: v1
        kind: Service
        metadata: {name: a, namespace: ns-a}
        spec:
          clusterIP: 10.96.0.1
          selector: {app: a}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: b, namespace: ns-b}
        spec:
          clusterIP: 10.96.0.2
          selector: {app: b}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: a, namespace: ns-a}
        spec:
          hosts: [a.ns-a.svc.cluster.local]
          http:
            - route:
                - destination: {host: a.ns-a.svc.cluster.local}
              timeout: 7s
        """;

    private const string ScopedB = """

        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: default, namespace: ns-b}
        spec:
          egress:
            - hosts: ["./*", "istio-system/*"]
        """;

    private static readonly Model.Proxy InA = MeshFixture.Proxy("10.1.0.1", "a-1", "ns-a", new Dictionary<string, string> { ["app"] = "a" });
    private static readonly Model.Proxy InB = MeshFixture.Proxy("10.1.0.2", "b-1", "ns-b", new Dictionary<string, string> { ["app"] = "b" });

    private static IEnumerable<string> VirtualHosts(PushContext context, Model.Proxy proxy) =>
        RouteBuilder.Build(context, proxy, "80")!.VirtualHosts.Select(v => v.Name);

    [Fact]
    public async Task A_virtual_service_of_a_namespace_the_sidecar_does_not_import_adds_no_virtual_host()
    {
        var context = await MeshFixture.LoadAsync(Mesh + ScopedB);
        var seen = VirtualHosts(context, InB).ToList();
        Assert.DoesNotContain("a.ns-a.svc.cluster.local:80", seen);
        Assert.Contains("b.ns-b.svc.cluster.local:80", seen);

        // ns-a has no Sidecar: it sees the service with the VirtualService's route.
        var inA = RouteBuilder.Build(context, InA, "80")!;
        var route = Assert.Single(RouteBuilderTests.Host(inA, "a.ns-a.svc.cluster.local:80").Routes);
        Assert.Equal(7, route.Route_.Timeout.Seconds);
    }

    [Fact]
    public async Task Without_the_sidecar_the_virtual_service_reaches_every_namespace()
    {
        var context = await MeshFixture.LoadAsync(Mesh);
        var route = Assert.Single(RouteBuilderTests.Host(RouteBuilder.Build(context, InB, "80")!, "a.ns-a.svc.cluster.local:80").Routes);
        Assert.Equal(7, route.Route_.Timeout.Seconds);
    }

    [Fact]
    public async Task A_sidecar_importing_the_namespace_keeps_the_virtual_service()
    {
        var context = await MeshFixture.LoadAsync(Mesh + ScopedB.Replace("\"./*\"", "\"./*\", \"ns-a/a.ns-a.svc.cluster.local\"", StringComparison.Ordinal));
        var route = Assert.Single(RouteBuilderTests.Host(RouteBuilder.Build(context, InB, "80")!, "a.ns-a.svc.cluster.local:80").Routes);
        Assert.Equal(7, route.Route_.Timeout.Seconds);
    }
}
