namespace MeshHost.Tests;

public class PushContextTests
{
    private const string Reviews = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v1, namespace: bookinfo, labels: {app: reviews, version: v1}}
        spec: {serviceAccountName: bookinfo-reviews}
        status: {podIP: 10.1.0.7, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    [Fact]
    public async Task A_sidecar_finds_the_service_ports_its_workload_serves()
    {
        var context = await MeshFixture.LoadAsync(Reviews);
        var service = Assert.Single(context.ServicesByHost("reviews.bookinfo.svc.cluster.local"));
        Assert.Equal("reviews.bookinfo.svc.cluster.local", context.ResolveHost("reviews", "bookinfo"));

        var target = Assert.Single(context.ServiceTargets(MeshFixture.Proxy("10.1.0.7", "reviews-v1", "bookinfo")));
        Assert.Same(service, target.Service);
        Assert.Equal(9080, target.Port.Port);
        Assert.Equal(8080, target.TargetPort);
        Assert.Equal("reviews-v1", context.WorkloadOf(MeshFixture.Proxy("10.1.0.7", "reviews-v1", "bookinfo"))?.Key.Name);
        Assert.Empty(context.ServiceTargets(MeshFixture.Proxy("10.1.0.8", "other", "bookinfo")));
    }

    [Fact]
    public async Task An_unparsable_istio_object_is_reported_and_left_out()
    {
        var context = await MeshFixture.LoadAsync(Reviews + """

            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: broken, namespace: bookinfo}
            spec: {servers: "not a list"}
            """);
        Assert.Empty(context.Configs<MeshHost.Istio.GatewaySpec>(MeshHost.Istio.IstioKinds.Gateway));
        var problem = Assert.Single(context.Problems);
        Assert.Equal("broken", problem.Key.Name);
        Assert.Contains("spec.servers", problem.Reason, StringComparison.Ordinal);
    }
}
