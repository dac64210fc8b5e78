using System.Text.Json;
using k8s.Models;
using XdsServer.Discovery;
using XdsServer.Kubernetes;

namespace XdsServer.Kubernetes.Tests;

public sealed class KubernetesTranslatorTests
{
    private readonly KubernetesTranslator _translator = new("example.internal");

    [Fact]
    public void Service_becomes_a_service_with_hostname_ports_protocols_addresses_and_selector()
    {
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta
            {
                Name = "reviews",
                NamespaceProperty = "shop",
                ResourceVersion = "42",
                Labels = new Dictionary<string, string> { ["app"] = "reviews" },
                Annotations = new Dictionary<string, string> { ["networking.istio.io/exportTo"] = " ., istio-system " },
            },
            Spec = new V1ServiceSpec
            {
                ClusterIP = "10.0.0.7",
                ClusterIPs = ["10.0.0.7", "fd00::7"],
                Selector = new Dictionary<string, string> { ["app"] = "reviews" },
                Ports =
                [
                    new V1ServicePort { Name = "http-web", Port = 80, TargetPort = 8080 },
                    new V1ServicePort { Name = "api", Port = 81, TargetPort = "grpc-port", AppProtocol = "grpc" },
                    new V1ServicePort { Name = "dns", Port = 53, Protocol = "UDP" },
                    new V1ServicePort { Name = "db", Port = 3306 },
                ],
            },
        };

        var service2 = Assert.IsType<DiscoveredService>(Assert.Single(_translator.Translate(service)));

        Assert.Equal(new ObjectKey(RegistryKinds.Service, "shop", "reviews"), service2.Key);
        Assert.Equal("42", service2.ResourceVersion);
        Assert.Equal("reviews.shop.svc.example.internal", service2.Hostname);
        Assert.Equal(["10.0.0.7", "fd00::7"], service2.Addresses);
        Assert.Equal([".", "istio-system"], service2.ExportTo);
        Assert.Equal("reviews", service2.Selector["app"]);
        Assert.Equal("reviews", service2.Labels["app"]);
        Assert.Equal(
            [
                new ServicePort("http-web", 80, 8080, null, ServicePortProtocol.Http),
                new ServicePort("api", 81, 0, "grpc-port", ServicePortProtocol.Grpc),
                new ServicePort("dns", 53, 0, null, ServicePortProtocol.Udp),
                new ServicePort("db", 3306, 0, null, ServicePortProtocol.Unknown),
            ],
            service2.Ports);
    }

    [Fact]
    public void Headless_service_has_no_addresses_and_a_manifest_without_namespace_is_in_default()
    {
        var service = new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "db" },
            Spec = new V1ServiceSpec { ClusterIP = "None", ClusterIPs = ["None"], Ports = [new V1ServicePort { Port = 5432 }] },
        };

        var translated = Assert.IsType<DiscoveredService>(Assert.Single(_translator.Translate(service)));

        Assert.Empty(translated.Addresses);
        Assert.Equal("default", translated.Key.Namespace);
        Assert.Equal("db.default.svc.example.internal", translated.Hostname);
        Assert.Equal(string.Empty, Assert.Single(translated.Ports).Name);
    }

    [Fact]
    public void Objects_without_resource_version_get_a_content_hash_that_changes_with_the_content()
    {
        V1Service Make(int port) => new()
        {
            Metadata = new V1ObjectMeta { Name = "a", NamespaceProperty = "n" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = port }] },
        };

        var first = _translator.Translate(Make(80))[0].ResourceVersion;
        var same = _translator.Translate(Make(80))[0].ResourceVersion;
        var other = _translator.Translate(Make(81))[0].ResourceVersion;

        Assert.StartsWith("sha256:", first, StringComparison.Ordinal);
        Assert.Equal(first, same);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void EndpointSlice_becomes_an_endpoint_group_of_its_service_with_one_endpoint_per_address()
    {
        var slice = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = "reviews-abc",
                NamespaceProperty = "shop",
                Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "reviews" },
            },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http-web", Port = 8080 }, new Discoveryv1EndpointPort { Name = "api", Port = 9090 }],
            Endpoints =
            [
                new V1Endpoint
                {
                    Addresses = ["10.1.0.1", "10.1.0.2"],
                    Conditions = new V1EndpointConditions { Ready = true },
                    NodeName = "node-a",
                    Zone = "zone-1",
                    TargetRef = new V1ObjectReference { Kind = "Pod", Name = "reviews-1", NamespaceProperty = "shop" },
                },
                new V1Endpoint
                {
                    Addresses = ["10.1.0.3"],
                    Conditions = new V1EndpointConditions { Ready = false, Terminating = true },
                },
            ],
        };

        var group = Assert.IsType<EndpointGroup>(Assert.Single(_translator.Translate(slice)));

        Assert.Equal(new ObjectKey(RegistryKinds.EndpointSlice, "shop", "reviews-abc"), group.Key);
        Assert.Equal(new ObjectKey(RegistryKinds.Service, "shop", "reviews"), group.Service);
        Assert.Equal(["10.1.0.1", "10.1.0.2", "10.1.0.3"], group.Endpoints.Select(e => e.Address));
        var first = group.Endpoints[0];
        Assert.True(first.Ready);
        Assert.False(first.Terminating);
        Assert.Equal("node-a", first.NodeName);
        Assert.Equal(new Locality(string.Empty, "zone-1", string.Empty), first.Locality);
        Assert.Equal(new ObjectKey(RegistryKinds.Pod, "shop", "reviews-1"), first.Workload);
        Assert.Equal(8080, first.Ports["http-web"]);
        Assert.Equal(9090, first.Ports["api"]);
        var last = group.Endpoints[2];
        Assert.False(last.Ready);
        Assert.True(last.Terminating);
        Assert.Null(last.Workload);
    }

    [Fact]
    public void EndpointSlice_without_a_service_name_label_belongs_to_no_service()
    {
        var slice = new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = "custom", NamespaceProperty = "n" }, Endpoints = [] };

        Assert.Empty(_translator.Translate(slice));
    }

    [Fact]
    public void Pod_becomes_a_workload_with_its_ips_account_node_readiness_and_tls_mode()
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "reviews-1",
                NamespaceProperty = "shop",
                Labels = new Dictionary<string, string> { ["app"] = "reviews", ["security.istio.io/tlsMode"] = "istio", ["istio-locality"] = "eu.eu-1a.rack2" },
            },
            Spec = new V1PodSpec { ServiceAccountName = "reviews", NodeName = "node-a", Containers = [] },
            Status = new V1PodStatus
            {
                PodIP = "10.1.0.1",
                PodIPs = [new V1PodIP { Ip = "10.1.0.1" }, new V1PodIP { Ip = "fd00::1" }],
                Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }],
            },
        };

        var workload = Assert.IsType<Workload>(Assert.Single(_translator.Translate(pod)));

        Assert.Equal(new ObjectKey(RegistryKinds.Pod, "shop", "reviews-1"), workload.Key);
        Assert.Equal(["10.1.0.1", "fd00::1"], workload.Addresses);
        Assert.Equal("reviews", workload.ServiceAccount);
        Assert.Equal("node-a", workload.NodeName);
        Assert.True(workload.Ready);
        Assert.Equal("istio", workload.TlsMode);
        Assert.Equal(new Locality("eu", "eu-1a", "rack2"), workload.Locality);
        Assert.Equal("reviews", workload.Labels["app"]);
    }

    [Fact]
    public void Pod_without_ip_yields_nothing_and_one_not_ready_is_not_ready()
    {
        var pending = new V1Pod { Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = "n" }, Status = new V1PodStatus() };
        var notReady = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "q", NamespaceProperty = "n" },
            Status = new V1PodStatus { PodIP = "10.0.0.9", Conditions = [new V1PodCondition { Type = "Ready", Status = "False" }] },
        };

        Assert.Empty(_translator.Translate(pending));
        var workload = Assert.IsType<Workload>(Assert.Single(_translator.Translate(notReady)));
        Assert.False(workload.Ready);
        Assert.Equal("disabled", workload.TlsMode);
        Assert.Equal("default", workload.ServiceAccount);
    }

    [Fact]
    public void Namespace_and_node_become_cluster_scoped_config_objects_with_labels()
    {
        var ns = new V1Namespace { Metadata = new V1ObjectMeta { Name = "shop", Labels = new Dictionary<string, string> { ["istio-injection"] = "enabled" } } };
        var node = new V1Node
        {
            Metadata = new V1ObjectMeta { Name = "node-a", Labels = new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = "zone-1" } },
            Spec = new V1NodeSpec { PodCIDR = "10.1.0.0/24" },
        };

        var nsObject = Assert.IsType<ConfigObject>(Assert.Single(_translator.Translate(ns)));
        var nodeObject = Assert.IsType<ConfigObject>(Assert.Single(_translator.Translate(node)));

        Assert.Equal(new ObjectKey("Namespace", string.Empty, "shop"), nsObject.Key);
        Assert.Equal("enabled", nsObject.Labels["istio-injection"]);
        Assert.Equal(JsonValueKind.Object, nsObject.Spec.ValueKind);
        Assert.Equal(new ObjectKey("Node", string.Empty, "node-a"), nodeObject.Key);
        Assert.Equal("zone-1", nodeObject.Labels["topology.kubernetes.io/zone"]);
        Assert.Equal("10.1.0.0/24", nodeObject.Spec.GetProperty("podCIDR").GetString());
    }

    [Fact]
    public void ServiceEntry_becomes_a_service_per_host_with_its_inline_endpoints()
    {
        var entry = Generic("networking.istio.io/v1", "ServiceEntry", "external", """
            {
              "hosts": ["api.example.com", "api2.example.com"],
              "addresses": ["240.0.0.1"],
              "exportTo": ["."],
              "ports": [
                { "number": 443, "name": "https", "protocol": "TLS" },
                { "number": 80, "name": "web", "protocol": "HTTP", "targetPort": 8080 }
              ],
              "endpoints": [
                { "address": "1.2.3.4", "ports": { "https": 8443 }, "labels": { "security.istio.io/tlsMode": "istio" },
                  "locality": "us/us-1/a", "serviceAccount": "ext" },
                { "address": "5.6.7.8" }
              ]
            }
            """);

        var objects = _translator.Translate(entry);

        var services = objects.OfType<DiscoveredService>().ToList();
        Assert.Equal(["api.example.com", "api2.example.com"], services.Select(s => s.Hostname));
        var service = services[0];
        Assert.Equal(new ObjectKey(RegistryKinds.ServiceEntry, "mesh", "external/api.example.com"), service.Key);
        Assert.Equal(["240.0.0.1"], service.Addresses);
        Assert.Equal(["."], service.ExportTo);
        Assert.Equal(
            [new ServicePort("https", 443, 0, null, ServicePortProtocol.Tls), new ServicePort("web", 80, 8080, null, ServicePortProtocol.Http)],
            service.Ports);
        var groups = objects.OfType<EndpointGroup>().ToList();
        Assert.Equal(2, groups.Count);
        var group = groups.Single(g => g.Service == service.Key);
        Assert.Equal(KubernetesTranslator.ServiceEntryEndpointsKind, group.Key.Kind);
        var first = group.Endpoints[0];
        Assert.Equal("1.2.3.4", first.Address);
        Assert.Equal(8443, first.Ports["https"]);
        Assert.Equal(8080, first.Ports["web"]);
        Assert.Equal("istio", first.TlsMode);
        Assert.Equal(new Locality("us", "us-1", "a"), first.Locality);
        Assert.Equal("ext", first.ServiceAccount);
        Assert.Equal(443, group.Endpoints[1].Ports["https"]);
        Assert.Equal("disabled", group.Endpoints[1].TlsMode);
    }

    [Fact]
    public void ServiceEntry_workload_selector_becomes_the_selector_and_no_inline_group_is_made()
    {
        var entry = Generic("networking.istio.io/v1beta1", "ServiceEntry", "vm", """
            { "hosts": ["vm.mesh.svc"], "ports": [{ "number": 9080, "name": "http" }], "workloadSelector": { "labels": { "app": "vm" } } }
            """);

        var objects = _translator.Translate(entry);

        var service = Assert.IsType<DiscoveredService>(Assert.Single(objects));
        Assert.Equal("vm", service.Selector["app"]);
        Assert.Equal(ServicePortProtocol.Http, Assert.Single(service.Ports).Protocol);
    }

    [Fact]
    public void ServiceEntry_with_a_field_of_the_wrong_type_is_a_format_error_naming_the_field()
    {
        var entry = Generic("networking.istio.io/v1", "ServiceEntry", "bad", """{ "hosts": ["a"], "ports": [{ "number": "eighty" }] }""");
        var noHosts = Generic("networking.istio.io/v1", "ServiceEntry", "bad", """{ "ports": [] }""");

        var error = Assert.ThrowsAny<FormatException>(() => _translator.Translate(entry));
        Assert.Contains("spec.ports[0].number", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.hosts", Assert.ThrowsAny<FormatException>(() => _translator.Translate(noHosts)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WorkloadEntry_becomes_a_workload_with_address_labels_account_locality_and_tls_mode()
    {
        var entry = Generic("networking.istio.io/v1", "WorkloadEntry", "vm-1", """
            { "address": "127.0.0.1", "labels": { "app": "vm", "security.istio.io/tlsMode": "istio" },
              "serviceAccount": "vm-sa", "locality": "eu/eu-1b", "ports": { "http": 19080 } }
            """);
        entry.Metadata.Labels = new Dictionary<string, string> { ["team"] = "a", ["app"] = "overridden" };

        var workload = Assert.IsType<Workload>(Assert.Single(_translator.Translate(entry)));

        Assert.Equal(new ObjectKey(RegistryKinds.WorkloadEntry, "mesh", "vm-1"), workload.Key);
        Assert.Equal(["127.0.0.1"], workload.Addresses);
        Assert.Equal("vm", workload.Labels["app"]);
        Assert.Equal("a", workload.Labels["team"]);
        Assert.Equal("vm-sa", workload.ServiceAccount);
        Assert.Equal(new Locality("eu", "eu-1b", string.Empty), workload.Locality);
        Assert.Equal("istio", workload.TlsMode);
        Assert.True(workload.Ready);
    }

    [Fact]
    public void Other_kinds_become_config_objects_keyed_by_group_and_kind_with_their_spec()
    {
        var vs = Generic("networking.istio.io/v1", "VirtualService", "reviews", """{ "hosts": ["reviews"], "http": [] }""");
        vs.Metadata.Annotations = new Dictionary<string, string> { ["note"] = "x" };

        var config = Assert.IsType<ConfigObject>(Assert.Single(_translator.Translate(vs)));

        Assert.Equal(new ObjectKey("networking.istio.io/VirtualService", "mesh", "reviews"), config.Key);
        Assert.Equal("reviews", config.Spec.GetProperty("hosts")[0].GetString());
        Assert.Equal("x", config.Annotations["note"]);
        Assert.StartsWith("sha256:", config.ResourceVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void Generic_object_without_spec_has_an_empty_object_spec()
    {
        var obj = new GenericObject { ApiVersion = "security.istio.io/v1", Kind = "PeerAuthentication", Metadata = new V1ObjectMeta { Name = "p" } };

        var config = Assert.IsType<ConfigObject>(Assert.Single(_translator.Translate(obj)));

        Assert.Equal(JsonValueKind.Object, config.Spec.ValueKind);
        Assert.Equal("security.istio.io/PeerAuthentication", config.Key.Kind);
    }

    private static GenericObject Generic(string apiVersion, string kind, string name, string spec)
    {
        using var document = JsonDocument.Parse(spec);
        return new GenericObject
        {
            ApiVersion = apiVersion,
            Kind = kind,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "mesh" },
            Spec = document.RootElement.Clone(),
        };
    }
}
