using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using MeshHost.Model;

namespace MeshHost.Tests;

public class ProxyTests
{
    [Fact]
    public void An_istio_sidecar_node_is_read_from_its_id_and_metadata()
    {
        var node = MeshFixture.Node("10.1.0.7", "reviews-v1-5b7f", "bookinfo", new Dictionary<string, string> { ["app"] = "reviews", ["version"] = "v1" },
            serviceAccount: "bookinfo-reviews");
        Assert.True(Proxy.TryParse(node, out var proxy, out var error), error);
        Assert.Equal(ProxyType.Sidecar, proxy.Type);
        Assert.Equal(["10.1.0.7"], proxy.IpAddresses);
        Assert.Equal("reviews-v1-5b7f", proxy.PodName);
        Assert.Equal("bookinfo", proxy.Namespace);
        Assert.Equal("bookinfo-reviews", proxy.ServiceAccount);
        Assert.Equal("v1", proxy.Labels["version"]);
        Assert.Equal("cluster.local", proxy.DomainSuffix("x"));
        Assert.False(proxy.IsProxylessGrpc);
    }

    [Fact]
    public void Instance_ips_win_over_the_id_and_a_gateway_is_a_router()
    {
        var node = MeshFixture.Node("10.1.0.9", "ingress-7d", "istio-system", type: "router", generator: "grpc");
        node.Metadata.Fields["INSTANCE_IPS"] = Value.ForString("10.1.0.9,fd00::9");
        Assert.True(Proxy.TryParse(node, out var proxy, out var error), error);
        Assert.Equal(ProxyType.Router, proxy.Type);
        Assert.Equal(["10.1.0.9", "fd00::9"], proxy.IpAddresses);
        Assert.True(proxy.IsProxylessGrpc);
    }

    [Theory]
    [InlineData("hello", "not an Istio node id")]
    [InlineData("waypoint~10.0.0.1~p.ns~ns.svc.cluster.local", "neither sidecar nor router")]
    [InlineData("sidecar~not-an-ip~p.ns~ns.svc.cluster.local", "is not an IP address")]
    [InlineData("sidecar~10.0.0.1~pod~svc.cluster.local", "names no namespace")]
    public void A_malformed_node_id_is_refused_with_the_reason(string id, string reason)
    {
        Assert.False(Proxy.TryParse(new Node { Id = id }, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
