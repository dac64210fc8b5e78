using Envoy.Config.Core.V3;
using MeshHost.Generation;
using ClusterLoadAssignment = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;

namespace MeshHost.Tests;

public class EndpointBuilderTests
{
    private const string Host = ClusterManifests.ReviewsHost;

    private static async Task<IReadOnlyList<ClusterLoadAssignment>> AssignmentsAsync(string yaml)
    {
        var context = await MeshFixture.LoadAsync(yaml);
        var client = ClusterManifests.Client();
        return EndpointBuilder.Build(context, client, ClusterBuilder.Build(context, client));
    }

    private static ClusterLoadAssignment Named(IReadOnlyList<ClusterLoadAssignment> assignments, string name) =>
        assignments.FirstOrDefault(a => a.ClusterName == name)
        ?? throw new Xunit.Sdk.XunitException($"no assignment {name}; there are: {string.Join(", ", assignments.Select(a => a.ClusterName))}");

    private static List<string> Addresses(ClusterLoadAssignment assignment) =>
        [.. assignment.Endpoints.SelectMany(l => l.LbEndpoints).Select(e => $"{e.Endpoint.Address.SocketAddress.Address}:{e.Endpoint.Address.SocketAddress.PortValue}")];

    [Theory]
    [InlineData("", new[] { "10.1.0.7:8080", "10.1.0.8:8080" })]
    [InlineData("v1", new[] { "10.1.0.7:8080" })]
    [InlineData("v2", new[] { "10.1.0.8:8080" })]
    [InlineData("v9", new string[0])]
    public async Task A_cluster_gets_the_ready_endpoints_of_its_subset_on_the_target_port(string subset, string[] expected)
    {
        var assignments = await AssignmentsAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule());
        var assignment = Named(assignments, $"outbound|9080|{subset}|{Host}");
        Assert.Equal(expected, Addresses(assignment)); // v3 (10.1.0.9) is not ready
        if (expected.Length == 0)
        {
            Assert.Empty(assignment.Endpoints);
        }
    }

    [Fact]
    public async Task Every_eds_cluster_gets_one_assignment_and_only_those()
    {
        var context = await MeshFixture.LoadAsync(ClusterManifests.Reviews + ClusterManifests.ReviewsRule());
        var client = ClusterManifests.Client();
        var clusters = ClusterBuilder.Build(context, client);
        var assignments = EndpointBuilder.Build(context, client, clusters);
        Assert.Equal(
            clusters.Where(c => c.Type == Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds).Select(c => c.Name),
            assignments.Select(a => a.ClusterName));
    }

    [Fact]
    public async Task Endpoints_are_grouped_by_locality_and_weighted_by_their_count()
    {
        var assignment = Named(await AssignmentsAsync(ClusterManifests.Reviews), $"outbound|9080||{Host}");
        Assert.Equal(["us-east/us-east-1a", "us-east/us-east-1b"], assignment.Endpoints.Select(l => $"{l.Locality.Region}/{l.Locality.Zone}"));
        Assert.All(assignment.Endpoints, l =>
        {
            Assert.Equal(1u, l.LoadBalancingWeight);
            var endpoint = Assert.Single(l.LbEndpoints);
            Assert.Equal(1u, endpoint.LoadBalancingWeight);
            Assert.Equal(HealthStatus.Healthy, endpoint.HealthStatus);
        });
    }

    [Fact]
    public async Task Endpoint_metadata_carries_the_tls_mode_and_the_workload()
    {
        var assignment = Named(await AssignmentsAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: reviews-plain, namespace: bookinfo, labels: {app: reviews, version: v4}}
            spec: {serviceAccountName: bookinfo-reviews, nodeName: node-a}
            status: {podIP: 10.1.0.10, phase: Running, conditions: [{type: Ready, status: "True"}]}
            """), $"outbound|9080||{Host}");
        var endpoints = assignment.Endpoints.SelectMany(l => l.LbEndpoints).ToDictionary(e => e.Endpoint.Address.SocketAddress.Address);
        var mtls = endpoints["10.1.0.7"].Metadata.FilterMetadata;
        Assert.Equal("istio", mtls["envoy.transport_socket_match"].Fields["tlsMode"].StringValue);
        Assert.Equal("reviews-v1;bookinfo;reviews;v1;Kubernetes", mtls["istio"].Fields["workload"].StringValue);
        // Without a sidecar: no match metadata, so the cluster's tlsMode-disabled match ({}) takes it.
        Assert.False(endpoints["10.1.0.10"].Metadata.FilterMetadata.ContainsKey("envoy.transport_socket_match"));
    }

    [Fact]
    public async Task Endpoint_slices_give_ports_by_name_and_terminating_or_unready_endpoints_are_left_out()
    {
        var assignments = await AssignmentsAsync(ClusterManifests.Reviews + """

            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: reviews-abc, namespace: bookinfo, labels: {kubernetes.io/service-name: reviews}}
            addressType: IPv4
            ports: [{name: http, port: 8081}, {name: grpc-api, port: 9091}]
            endpoints:
            - addresses: [10.1.0.7]
              conditions: {ready: true}
              targetRef: {kind: Pod, name: reviews-v1, namespace: bookinfo}
            - addresses: [10.1.0.8]
              conditions: {ready: false, terminating: true}
              targetRef: {kind: Pod, name: reviews-v2, namespace: bookinfo}
            - addresses: [10.1.0.9]
              conditions: {ready: false}
            """ + ClusterManifests.ReviewsRule());
        Assert.Equal(["10.1.0.7:8081"], Addresses(Named(assignments, $"outbound|9080||{Host}")));
        Assert.Equal(["10.1.0.7:9091"], Addresses(Named(assignments, $"outbound|9090||{Host}")));
        // The slice names the pod only: the subset is matched on the pod's labels.
        Assert.Equal(["10.1.0.7:8081"], Addresses(Named(assignments, $"outbound|9080|v1|{Host}")));
        Assert.Empty(Addresses(Named(assignments, $"outbound|9080|v2|{Host}")));
    }
}
