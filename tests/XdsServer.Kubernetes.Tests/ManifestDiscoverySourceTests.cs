using XdsServer.Discovery;
using XdsServer.Kubernetes;

namespace XdsServer.Kubernetes.Tests;

public sealed class ManifestDiscoverySourceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private const string ShopFile = """
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
          namespace: shop
        spec:
          selector:
            app: reviews
          ports:
          - name: http
            port: 9080
            targetPort: 8080
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: reviews-1
          namespace: shop
          labels:
            kubernetes.io/service-name: reviews
        addressType: IPv4
        ports:
        - name: http
          port: 8080
        endpoints:
        - addresses: ["10.0.0.1"]
          conditions:
            ready: true
          targetRef:
            kind: Pod
            name: reviews-a
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: reviews-a
          namespace: shop
          labels:
            app: reviews
        spec:
          containers:
          - name: app
            image: reviews
        status:
          podIP: 10.0.0.1
        """;

    private const string ListFile = """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Namespace
          metadata:
            name: shop
            labels:
              istio-injection: enabled
        - apiVersion: v1
          kind: Service
          metadata:
            name: ratings
            namespace: shop
          spec:
            clusterIP: None
            ports:
            - port: 9080
              appProtocol: grpc
        """;

    private const string IstioFile = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: reviews
          namespace: shop
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination:
                host: reviews
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
          namespace: shop
        spec:
          host: reviews
          trafficPolicy:
            tls:
              mode: ISTIO_MUTUAL
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: vm
          namespace: shop
        spec:
          hosts: [vm.shop.internal]
          ports:
          - number: 80
            name: http
            protocol: HTTP
            targetPort: 18080
          workloadSelector:
            labels:
              app: vm
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata:
          name: vm-1
          namespace: shop
        spec:
          address: 127.0.0.1
          labels:
            app: vm
          ports:
            http: 19080
        """;

    private static ObjectKey VirtualService(string name) => new("networking.istio.io/VirtualService", "shop", name);

    [Fact]
    public async Task Folder_with_multi_document_file_list_and_istio_kinds_fills_the_registry()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("shop.yaml", ShopFile);
        folder.Write("list.yml", ListFile);
        folder.Write("istio/mesh.yaml", IstioFile);

        var source = await folder.StartAsync();

        var now = folder.Current;
        var reviews = now.Get<DiscoveredService>(new ObjectKey(RegistryKinds.Service, "shop", "reviews"));
        Assert.NotNull(reviews);
        Assert.Equal("reviews.shop.svc.cluster.local", reviews.Hostname);
        Assert.Equal(["10.0.0.1"], now.EndpointsOf(reviews.Key).Select(e => e.Address));
        Assert.NotNull(now.Get<Workload>(new ObjectKey(RegistryKinds.Pod, "shop", "reviews-a")));
        var ratings = now.Get<DiscoveredService>(new ObjectKey(RegistryKinds.Service, "shop", "ratings"));
        Assert.NotNull(ratings);
        Assert.Empty(ratings.Addresses);
        Assert.Equal(ServicePortProtocol.Grpc, Assert.Single(ratings.Ports).Protocol);
        Assert.Equal("enabled", now.Get<ConfigObject>(new ObjectKey("Namespace", string.Empty, "shop"))!.Labels["istio-injection"]);
        Assert.Equal("reviews", now.Get<ConfigObject>(VirtualService("reviews"))!.Spec.GetProperty("hosts")[0].GetString());
        Assert.NotNull(now.Get<ConfigObject>(new ObjectKey("networking.istio.io/DestinationRule", "shop", "reviews")));
        Assert.Contains(now.Services, s => s.Hostname == "vm.shop.internal");
        Assert.NotNull(now.Get<Workload>(new ObjectKey(RegistryKinds.WorkloadEntry, "shop", "vm-1")));
        Assert.Empty(source.Problems);
        Assert.True(folder.Status.Healthy, folder.Status.Message);
    }

    [Fact]
    public async Task Editing_one_file_changes_only_its_object()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("shop.yaml", ShopFile);
        folder.Write("istio.yaml", IstioFile);
        await folder.StartAsync();
        var before = folder.Current.Get<ConfigObject>(VirtualService("reviews"))!;
        using var watch = folder.Registry.Watch();

        folder.Write("istio.yaml", IstioFile.Replace("hosts: [reviews]", "hosts: [reviews, reviews.shop]", StringComparison.Ordinal));

        var (changes, snapshot) = await watch.NextAsync().WaitAsync(Timeout);
        var change = Assert.Single(changes);
        Assert.Equal(new RegistryChange(VirtualService("reviews"), RegistryChangeKind.Updated, "manifests"), change);
        var after = snapshot.Get<ConfigObject>(VirtualService("reviews"))!;
        Assert.NotEqual(before.ResourceVersion, after.ResourceVersion);
        Assert.Equal(2, after.Spec.GetProperty("hosts").GetArrayLength());
    }

    [Fact]
    public async Task Bad_document_is_reported_with_its_place_and_its_last_good_version_stays_while_other_files_apply()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("shop.yaml", ShopFile);
        folder.Write("istio.yaml", IstioFile);
        var source = await folder.StartAsync();
        var service = new ObjectKey(RegistryKinds.Service, "shop", "reviews");
        var goodVersion = folder.Current.Get(service)!.ResourceVersion;

        // Line 12 of the file: "    targetPort: 8080", now a list where a port belongs.
        folder.Write("shop.yaml", ShopFile.Replace("    targetPort: 8080", "    targetPort: [8080]", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => source.Problems.Count > 0, "the bad document is reported", Timeout);

        var problem = Assert.Single(source.Problems);
        Assert.Equal("shop.yaml", problem.File);
        Assert.Equal(12, problem.Line);
        Assert.Equal(17, problem.Column);
        Assert.Equal("Service", problem.Kind);
        Assert.Equal("shop", problem.Namespace);
        Assert.Equal("reviews", problem.Name);
        Assert.Contains("spec.ports[0].targetPort", problem.Reason, StringComparison.Ordinal);
        Assert.Equal(goodVersion, folder.Current.Get(service)!.ResourceVersion);
        Assert.False(folder.Status.Healthy);
        Assert.Contains("shop.yaml:12:17", folder.Status.Message, StringComparison.Ordinal);
        Assert.Contains(folder.Log.Entries, e => e.EventId.Id == 2251 && e.Message.Contains("shop.yaml:12:17", StringComparison.Ordinal));

        folder.Write("istio.yaml", IstioFile.Replace("mode: ISTIO_MUTUAL", "mode: DISABLE", StringComparison.Ordinal));
        await Eventually.TrueAsync(
            () => folder.Current.Get<ConfigObject>(new ObjectKey("networking.istio.io/DestinationRule", "shop", "reviews"))!
                .Spec.GetRawText().Contains("DISABLE", StringComparison.Ordinal),
            "another file's edit applies while shop.yaml is bad", Timeout);
        Assert.Equal(goodVersion, folder.Current.Get(service)!.ResourceVersion);

        folder.Write("shop.yaml", ShopFile.Replace("targetPort: 8080", "targetPort: 8081", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => source.Problems.Count == 0 && folder.Status.Healthy, "the fixed file clears the problem", Timeout);
        Assert.Equal(8081, Assert.Single(folder.Current.Get<DiscoveredService>(service)!.Ports).TargetPort);
    }

    [Fact]
    public async Task Yaml_syntax_error_keeps_every_object_the_file_served()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("shop.yaml", ShopFile);
        var source = await folder.StartAsync();
        var count = folder.Current.Count;

        folder.Write("shop.yaml", ShopFile.Replace("  name: reviews-a", "  name: \"reviews-a", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => source.Problems.Count > 0, "the syntax error is reported", Timeout);

        var problem = Assert.Single(source.Problems);
        Assert.Equal("shop.yaml", problem.File);
        Assert.NotNull(problem.Line);
        Assert.NotNull(problem.Column);
        Assert.Equal(count, folder.Current.Count);
        Assert.NotNull(folder.Current.Get(new ObjectKey(RegistryKinds.Pod, "shop", "reviews-a")));
    }

    [Fact]
    public async Task Documents_without_kind_or_name_and_objects_defined_twice_are_problems_and_the_rest_is_served()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("a.yaml", IstioFile);
        folder.Write("b.yaml", """
            apiVersion: v1
            metadata:
              name: nameless-kind
            ---
            apiVersion: v1
            kind: Service
            metadata:
              namespace: shop
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: reviews
              namespace: shop
            spec:
              hosts: [other]
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata:
              name: ingress
              namespace: shop
            spec: {}
            """);

        var source = await folder.StartAsync();

        var problems = source.Problems;
        Assert.Equal(3, problems.Count);
        Assert.Equal(("b.yaml", 1, "kind is missing"), (problems[0].File, problems[0].Line!.Value, problems[0].Reason));
        Assert.Equal((8, "metadata.name is missing", "Service"), (problems[1].Line!.Value, problems[1].Reason, problems[1].Kind));
        Assert.Equal((10, "VirtualService", "reviews"), (problems[2].Line!.Value, problems[2].Kind, problems[2].Name));
        Assert.Contains("a.yaml:1", problems[2].Reason, StringComparison.Ordinal);
        Assert.Equal("reviews", folder.Current.Get<ConfigObject>(VirtualService("reviews"))!.Spec.GetProperty("hosts")[0].GetString());
        Assert.NotNull(folder.Current.Get(new ObjectKey("networking.istio.io/Gateway", "shop", "ingress")));
        Assert.True(folder.Registry.IsReady);
        Assert.False(folder.Status.Healthy);
    }

    [Fact]
    public async Task Deleting_a_good_file_removes_its_objects()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("shop.yaml", ShopFile);
        folder.Write("istio.yaml", IstioFile);
        await folder.StartAsync();
        using var watch = folder.Registry.Watch();

        folder.Delete("istio.yaml");

        var (changes, snapshot) = await watch.NextAsync().WaitAsync(Timeout);
        Assert.All(changes, c => Assert.Equal(RegistryChangeKind.Removed, c.Kind));
        Assert.Contains(changes, c => c.Key == VirtualService("reviews"));
        Assert.Null(snapshot.Get(VirtualService("reviews")));
        Assert.NotNull(snapshot.Get(new ObjectKey(RegistryKinds.Service, "shop", "reviews")));
    }

    [Fact]
    public async Task Service_without_endpoint_slices_gets_endpoints_from_the_pods_it_selects()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("app.yaml", """
            apiVersion: v1
            kind: Service
            metadata: { name: web, namespace: demo }
            spec:
              selector: { app: web }
              ports:
              - { name: http, port: 80, targetPort: web-port }
              - { name: admin, port: 9000 }
            ---
            apiVersion: v1
            kind: Pod
            metadata: { name: web-1, namespace: demo, labels: { app: web, security.istio.io/tlsMode: istio } }
            spec:
              serviceAccountName: web
              containers:
              - name: app
                ports: [{ name: web-port, containerPort: 8080 }]
            status:
              podIP: 127.0.0.1
              conditions: [{ type: Ready, status: "True" }]
            ---
            apiVersion: v1
            kind: Pod
            metadata: { name: other, namespace: demo, labels: { app: other } }
            status: { podIP: 127.0.0.2 }
            """);

        await folder.StartAsync();

        var service = new ObjectKey(RegistryKinds.Service, "demo", "web");
        var group = Assert.Single(folder.Current.EndpointGroupsOf(service));
        Assert.Equal(ManifestDiscoverySource.SelectedEndpointsKind, group.Key.Kind);
        var endpoint = Assert.Single(group.Endpoints);
        Assert.Equal("127.0.0.1", endpoint.Address);
        Assert.Equal(8080, endpoint.Ports["http"]);
        Assert.Equal(9000, endpoint.Ports["admin"]);
        Assert.Equal("web", endpoint.ServiceAccount);
        Assert.Equal("istio", endpoint.TlsMode);
        Assert.True(endpoint.Ready);
        Assert.Equal(new ObjectKey(RegistryKinds.Pod, "demo", "web-1"), endpoint.Workload);
    }

    [Fact]
    public async Task A_pod_added_in_its_own_file_changes_only_the_groups_of_the_services_that_select_it()
    {
        // The synthesizer looks pods up by one selector label and keeps the groups of services whose inputs are the
        // same instances as at the last read: the other service's group must stay as it was, and a pod with only
        // one of a two-label selector's labels must not be selected.
        await using var folder = new ManifestFolderHarness();
        folder.Write("services.yaml", """
            apiVersion: v1
            kind: Service
            metadata: { name: web, namespace: demo }
            spec: { selector: { app: web }, ports: [{ name: http, port: 80 }] }
            ---
            apiVersion: v1
            kind: Service
            metadata: { name: api, namespace: demo }
            spec: { selector: { app: api, tier: backend }, ports: [{ name: http, port: 80 }] }
            """);
        folder.Write("pods.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: { name: web-1, namespace: demo, labels: { app: web } }
            status: { podIP: 127.0.0.1 }
            ---
            apiVersion: v1
            kind: Pod
            metadata: { name: api-1, namespace: demo, labels: { app: api, tier: backend } }
            status: { podIP: 127.0.0.2 }
            ---
            apiVersion: v1
            kind: Pod
            metadata: { name: api-frontend, namespace: demo, labels: { app: api, tier: frontend } }
            status: { podIP: 127.0.0.3 }
            """);
        await folder.StartAsync();
        var web = new ObjectKey(RegistryKinds.Service, "demo", "web");
        var api = new ObjectKey(RegistryKinds.Service, "demo", "api");
        var apiBefore = Assert.Single(folder.Current.EndpointGroupsOf(api));
        Assert.Equal(["127.0.0.2"], apiBefore.Endpoints.Select(e => e.Address));
        using var watch = folder.Registry.Watch();

        folder.Write("web-2.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: { name: web-2, namespace: demo, labels: { app: web } }
            status: { podIP: 127.0.0.4 }
            """);

        var (changes, snapshot) = await watch.NextAsync().WaitAsync(Timeout);
        Assert.Equal(
            [new ObjectKey(RegistryKinds.Pod, "demo", "web-2"), new ObjectKey(ManifestDiscoverySource.SelectedEndpointsKind, "demo", "web")],
            changes.Select(c => c.Key).OrderBy(k => k.Kind, StringComparer.Ordinal));
        Assert.Equal(["127.0.0.1", "127.0.0.4"], Assert.Single(snapshot.EndpointGroupsOf(web)).Endpoints.Select(e => e.Address).Order());
        Assert.Same(apiBefore, Assert.Single(snapshot.EndpointGroupsOf(api)));
    }

    [Fact]
    public async Task Service_with_an_endpoint_slice_gets_no_endpoints_from_pods()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("shop.yaml", ShopFile.Replace("podIP: 10.0.0.1", "podIP: 10.0.0.99", StringComparison.Ordinal));

        await folder.StartAsync();

        var group = Assert.Single(folder.Current.EndpointGroupsOf(new ObjectKey(RegistryKinds.Service, "shop", "reviews")));
        Assert.Equal(RegistryKinds.EndpointSlice, group.Key.Kind);
        Assert.Equal(["10.0.0.1"], group.Endpoints.Select(e => e.Address));
    }

    [Fact]
    public async Task ServiceEntry_with_a_workload_selector_gets_endpoints_from_its_workload_entries_and_follows_them()
    {
        await using var folder = new ManifestFolderHarness();
        folder.Write("mesh.yaml", IstioFile);
        await folder.StartAsync();
        var service = new ObjectKey(RegistryKinds.ServiceEntry, "shop", "vm/vm.shop.internal");

        var endpoint = Assert.Single(folder.Current.EndpointsOf(service));
        Assert.Equal("127.0.0.1", endpoint.Address);
        Assert.Equal(19080, endpoint.Ports["http"]);
        Assert.Equal(new ObjectKey(RegistryKinds.WorkloadEntry, "shop", "vm-1"), endpoint.Workload);

        folder.Write("more.yaml", """
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: { name: vm-2, namespace: shop }
            spec: { address: 127.0.0.2, labels: { app: vm } }
            """);

        await Eventually.TrueAsync(() => folder.Current.EndpointsOf(service).Count() == 2, "the new WorkloadEntry is selected", Timeout);
        Assert.Equal(18080, folder.Current.EndpointsOf(service).Single(e => e.Address == "127.0.0.2").Ports["http"]);
    }
}
