using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Cache;

namespace MeshHost.Tests.Hosting;

/// <summary>Nodes, probes and a stand-in generator the host tests share.</summary>
internal static class TestNodes
{
    /// <summary>A sidecar node as istio-agent sends it; without a service account it claims no identity.</summary>
    public static Node Sidecar(string ip = "10.1.0.7", string pod = "reviews-v1", string @namespace = "bookinfo", string? serviceAccount = null) =>
        MeshFixture.Node(ip, pod, @namespace, new Dictionary<string, string> { ["app"] = "reviews" }, serviceAccount: serviceAccount);

    /// <summary>grpc.health.v1.Health/Check("") until it answers SERVING (bounded; a fresh channel per probe).</summary>
    public static async Task WaitForServingAsync(Uri server, TimeSpan timeout, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "unreachable";
        while (DateTime.UtcNow < deadline)
        {
            using (var channel = GrpcChannel.ForAddress(server))
            {
                try
                {
                    var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                    if (response.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        return;
                    }

                    last = response.Status.ToString();
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal)
                {
                    last = e.StatusCode.ToString();
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"gRPC health did not answer SERVING within {timeout.TotalSeconds:0} s (last: {last}). Output:\n{diagnostics()}");
    }

    /// <summary>A stand-in for the generator while its builders are stubs: one EDS cluster
    /// <c>outbound|port||host</c> per visible service port, so the pipeline's pushes can be observed.</summary>
    public static Snapshot ClusterPerServicePort(PushContext context, Proxy proxy)
    {
        var builder = Snapshot.CreateBuilder().Include(TypeUrls.Cluster).Include(TypeUrls.Listener);
        foreach (var service in context.VisibleServices(proxy))
        {
            foreach (var port in service.Ports)
            {
                builder.Add(new Cluster
                {
                    Name = MeshNames.OutboundCluster(port.Port, null, service.Hostname),
                    Type = Cluster.Types.DiscoveryType.Static,
                });
            }
        }

        return builder.Build();
    }
}
