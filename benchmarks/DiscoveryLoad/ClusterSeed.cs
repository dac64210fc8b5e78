using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using XdsServer.Kubernetes;
using XdsServer.Kubernetes.Testing;

namespace DiscoveryLoad;

/// <summary>
/// The cluster the load run discovers: N services spread over N/100 namespaces (at least one), each with
/// <c>podsPerService</c> running, ready pods on 10 nodes and one EndpointSlice listing exactly those pods' IPs; every
/// Istio kind the source watches by default is served, with a few objects (a VirtualService and a DestinationRule
/// for each of the first five services, one Gateway, one mesh-wide PeerAuthentication).
/// </summary>
internal static class ClusterSeed
{
    public const int Nodes = 10;

    public static string NamespaceOf(int service, int services) => $"ns-{service % Math.Max(1, services / 100)}";

    public static string ServiceName(int service) => $"svc-{service}";

    public static string SliceName(int service) => $"svc-{service}-x7k2p";

    /// <summary>Seeds <paramref name="server"/>.</summary>
    /// <returns>Each service's EndpointSlice, by service index (the load run flips their endpoints).</returns>
    public static IReadOnlyList<V1EndpointSlice> Seed(TestApiServer server, int services, int podsPerService)
    {
        foreach (var kind in CustomResourceKind.IstioDefaults)
        {
            server.Register(new ApiResource(kind.Group, kind.Version, kind.Plural, kind.Kind, true));
        }

        for (var n = 0; n < Math.Max(1, services / 100); n++)
        {
            server.Add(new V1Namespace { Metadata = new V1ObjectMeta { Name = $"ns-{n}" } });
        }

        for (var n = 0; n < Nodes; n++)
        {
            server.Add(new V1Node
            {
                Metadata = new V1ObjectMeta { Name = $"node-{n}", Labels = new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = $"zone-{n % 3}" } },
            });
        }

        List<V1EndpointSlice> slices = [];
        for (var s = 0; s < services; s++)
        {
            var ns = NamespaceOf(s, services);
            var name = ServiceName(s);
            var labels = new Dictionary<string, string> { ["app"] = name };
            server.Add(new V1Service
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
                Spec = new V1ServiceSpec
                {
                    ClusterIP = Address(172, s),
                    Selector = labels,
                    Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080, Protocol = "TCP" }],
                },
            });

            List<V1Endpoint> endpoints = [];
            for (var p = 0; p < podsPerService; p++)
            {
                var pod = $"{name}-{p}";
                var ip = Address(10, (s * podsPerService) + p);
                var node = $"node-{p % Nodes}";
                server.Add(new V1Pod
                {
                    Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = ns, Labels = new Dictionary<string, string>(labels) { ["pod-template-hash"] = "5d8f7c9b6" } },
                    Spec = new V1PodSpec
                    {
                        NodeName = node,
                        ServiceAccountName = name,
                        Containers = [new V1Container { Name = "app", Image = "registry.example/app:1.0", Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080 }] }],
                    },
                    Status = new V1PodStatus
                    {
                        Phase = "Running",
                        PodIP = ip,
                        PodIPs = [new V1PodIP { Ip = ip }],
                        Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }],
                    },
                });
                endpoints.Add(new V1Endpoint
                {
                    Addresses = [ip],
                    Conditions = new V1EndpointConditions { Ready = true, Serving = true, Terminating = false },
                    NodeName = node,
                    Zone = $"zone-{p % Nodes % 3}",
                    TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod, NamespaceProperty = ns },
                });
            }

            var slice = new V1EndpointSlice
            {
                Metadata = new V1ObjectMeta
                {
                    Name = SliceName(s),
                    NamespaceProperty = ns,
                    Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = name, ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io" },
                },
                AddressType = "IPv4",
                Endpoints = endpoints,
                Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            };
            server.Add(slice);
            slices.Add(slice);
        }

        for (var s = 0; s < Math.Min(5, services); s++)
        {
            var ns = NamespaceOf(s, services);
            var host = $"{ServiceName(s)}.{ns}.svc.cluster.local";
            server.Add(Istio("networking.istio.io/v1", "VirtualService", ns, ServiceName(s), new JsonObject
            {
                ["hosts"] = new JsonArray(host),
                ["http"] = new JsonArray(new JsonObject
                {
                    ["route"] = new JsonArray(new JsonObject { ["destination"] = new JsonObject { ["host"] = host } }),
                    ["timeout"] = "5s",
                }),
            }));
            server.Add(Istio("networking.istio.io/v1", "DestinationRule", ns, ServiceName(s), new JsonObject
            {
                ["host"] = host,
                ["trafficPolicy"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["simple"] = "LEAST_REQUEST" } },
            }));
        }

        server.Add(Istio("networking.istio.io/v1", "Gateway", "ns-0", "ingress", new JsonObject
        {
            ["selector"] = new JsonObject { ["istio"] = "ingressgateway" },
            ["servers"] = new JsonArray(new JsonObject
            {
                ["port"] = new JsonObject { ["number"] = 80, ["name"] = "http", ["protocol"] = "HTTP" },
                ["hosts"] = new JsonArray("*"),
            }),
        }));
        server.Add(Istio("security.istio.io/v1", "PeerAuthentication", "ns-0", "default", new JsonObject
        {
            ["mtls"] = new JsonObject { ["mode"] = "STRICT" },
        }));
        return slices;
    }

    /// <summary>An address a.b.c.d counting up from a.0.0.1 (distinct for up to 16 million indexes).</summary>
    private static string Address(int first, int index)
    {
        var n = index + 1;
        return string.Create(CultureInfo.InvariantCulture, $"{first}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}");
    }

    private static JsonObject Istio(string apiVersion, string kind, string ns, string name, JsonObject spec) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = spec,
    };
}
