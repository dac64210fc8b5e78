using System.Text.Json.Nodes;
using Envoy.Config.Core.V3;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;
using MeshHost.Tests.Hosting;
using XdsServer;
using XdsServer.Cache;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace MeshHost.Tests;

/// <summary>examples/bootstrap/envoy.yaml, the README's "Connect Envoy": no Envoy binary exists on this machine, so
/// the file is read as Envoy reads it (YAML into the v3 protos, unknown fields refused), checked to point at the
/// README's first command, and its node is served listeners and clusters over ADS by that command's host.
/// examples/bootstrap/grpc-xds.json is run by <see cref="The_readme_client_command_with_the_jason_header_reaches_only_reviews_v2"/>.</summary>
public sealed partial class ReadmeWalkthroughTests
{
    [Fact]
    public void The_envoy_bootstrap_parses_into_the_v3_api_and_points_its_ads_cluster_at_the_first_command_s_grpc_port()
    {
        var bootstrap = BootstrapFile.YamlToJson(BootstrapFile.Read("envoy.yaml")).AsObject();
        Assert.Equal(["node", "dynamic_resources", "static_resources", "admin"], bootstrap.Select(p => p.Key));

        // The node: an Istio sidecar in bookinfo, as the host reads it.
        var node = EnvoyNode(bootstrap);
        Assert.True(MeshHost.Model.Proxy.TryParse(node, out var proxy, out var error), error);
        Assert.False(proxy.IsProxylessGrpc);
        Assert.Equal("bookinfo", proxy.Namespace);
        Assert.False(string.IsNullOrEmpty(node.Cluster), "the Envoy bootstrap's node has no cluster");

        // ADS over gRPC, v3 transport; listeners and clusters from ADS in the v3 resource API (the type URLs the
        // server serves are the v3 ones).
        var dynamic = bootstrap["dynamic_resources"]!.AsObject();
        var ads = Parse<ApiConfigSource>(dynamic["ads_config"]!);
        Assert.Equal(ApiConfigSource.Types.ApiType.Grpc, ads.ApiType);
        Assert.Equal(ApiVersion.V3, ads.TransportApiVersion);
        var adsCluster = Assert.Single(ads.GrpcServices).EnvoyGrpc.ClusterName;
        foreach (var key in new[] { "lds_config", "cds_config" })
        {
            var source = Parse<ConfigSource>(dynamic[key]!);
            Assert.NotNull(source.Ads);
            Assert.Equal(ApiVersion.V3, source.ResourceApiVersion);
        }
        Assert.Contains(".v3.", TypeUrls.Listener, StringComparison.Ordinal);
        Assert.Contains(".v3.", TypeUrls.Cluster, StringComparison.Ordinal);

        // The ADS cluster: the README command's --urls address, HTTP/2 (gRPC) in cleartext.
        var clusters = bootstrap["static_resources"]!["clusters"]!.AsArray().Select(c => Parse<ClusterProto>(c!)).ToList();
        var cluster = Assert.Single(clusters, c => c.Name == adsCluster);
        var address = Assert.Single(Assert.Single(cluster.LoadAssignment.Endpoints).LbEndpoints).Endpoint.Address.SocketAddress;
        var urls = new Uri(MeshHostProcess.ReadmeArguments()[Array.IndexOf(MeshHostProcess.ReadmeArguments(), "--urls") + 1]);
        Assert.Equal("http", urls.Scheme);
        Assert.Equal(urls.Host, address.Address);
        Assert.Equal((uint)urls.Port, address.PortValue);
        Assert.Null(cluster.TransportSocket);
        var options = cluster.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].Unpack<UpstreamHttpOptions>();
        Assert.NotNull(options.ExplicitHttpConfig.Http2ProtocolOptions);

        // The admin interface on loopback only.
        var admin = Parse<Address>(bootstrap["admin"]!["address"]!).SocketAddress;
        Assert.Equal("127.0.0.1", admin.Address);
    }

    [Fact]
    public async Task The_envoy_bootstrap_s_node_gets_listeners_and_clusters_over_ads_from_the_readme_command()
    {
        await _mesh.HostAsync();
        var node = EnvoyNode(BootstrapFile.YamlToJson(BootstrapFile.Read("envoy.yaml")).AsObject());
        await using var envoy = XdsProtocolClient.Open(_mesh.Grpc, node);
        await envoy.SendAsync(TypeUrls.Cluster);
        await envoy.SendAsync(TypeUrls.Listener, withNode: false);

        var names = new Dictionary<string, List<string>>();
        for (var i = 0; i < 2; i++)
        {
            var response = await envoy.NextAsync("the Envoy bootstrap's clusters and listeners");
            names[response.TypeUrl] = [.. response.Resources.Select(r => response.TypeUrl == TypeUrls.Cluster
                ? r.Unpack<ClusterProto>().Name
                : r.Unpack<Envoy.Config.Listener.V3.Listener>().Name)];
        }

        Assert.Contains("outbound|9080|v2|reviews.bookinfo.svc.cluster.local", names[TypeUrls.Cluster]);
        Assert.Contains("outbound|80||api.example.com", names[TypeUrls.Cluster]);
        Assert.Contains("virtualOutbound", names[TypeUrls.Listener]);
        Assert.Contains("0.0.0.0_9080", names[TypeUrls.Listener]);
    }

    private static Node EnvoyNode(JsonObject bootstrap) => Parse<Node>(bootstrap["node"]!);

    private static T Parse<T>(JsonNode json)
        where T : Google.Protobuf.IMessage<T>, new() => EnvoyApiTypes.Parser.Parse<T>(json.ToJsonString());
}
