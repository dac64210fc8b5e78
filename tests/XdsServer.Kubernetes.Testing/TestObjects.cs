using System.Text.Json.Nodes;
using k8s.Models;

namespace XdsServer.Kubernetes.Testing;

/// <summary>Small Kubernetes objects for tests.</summary>
public static class TestObjects
{
    /// <summary>A ClusterIP service with one port.</summary>
    public static V1Service Service(string ns, string name, IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Spec = new V1ServiceSpec { ClusterIP = "10.0.0.1", Ports = [new V1ServicePort { Name = "http", Port = 80 }] },
    };

    /// <summary>A pod with an IP.</summary>
    public static V1Pod Pod(string ns, string name, IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Status = new V1PodStatus { PodIP = "10.1.0.1" },
    };

    /// <summary>An endpoint slice of a service.</summary>
    public static V1EndpointSlice EndpointSlice(string ns, string name, string service) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service } },
        AddressType = "IPv4",
        Endpoints = [new V1Endpoint { Addresses = ["10.1.0.1"] }],
    };

    /// <summary>A namespace.</summary>
    public static V1Namespace Namespace(string name) => new() { Metadata = new V1ObjectMeta { Name = name } };

    /// <summary>A node.</summary>
    public static V1Node Node(string name) => new() { Metadata = new V1ObjectMeta { Name = name } };

    /// <summary>An Istio VirtualService.</summary>
    public static JsonObject VirtualService(string ns, string name) => new()
    {
        ["apiVersion"] = "networking.istio.io/v1",
        ["kind"] = "VirtualService",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject { ["hosts"] = new JsonArray(name) },
    };
}
