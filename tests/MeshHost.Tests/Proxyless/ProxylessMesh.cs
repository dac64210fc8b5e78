using System.Globalization;
using System.Text.Json.Nodes;
using MeshHost.Model;
using MeshHost.Tests.Hosting;
using XdsServer;
using XdsServer.Testing.Interop;

namespace MeshHost.Tests.Proxyless;

/// <summary>
/// The MeshHost running in this process on a temporary folder of manifests (namespace <c>proxyless</c>), with
/// loopback backends as its Pods (podIP 127.0.0.1, container port = the backend's port), for the real proxyless
/// clients of <c>tests/clients</c>. One host for every case; cases that edit manifests write the state they start
/// from themselves.
/// </summary>
/// <remarks>
/// <para>Services (one port, 7070, named <c>grpc</c>): <c>split</c> (Pods split-v1, split-v2; the VirtualService
/// sends <c>x-variant: canary</c> to subset v2 and splits the rest 80/20), <c>faulty</c> (aborts every call with
/// PERMISSION_DENIED), <c>slow</c> (a backend that answers after 3 s, a 2 s VirtualService timeout),
/// <c>moving</c> (its Pods are in <see cref="MovingPods"/>, rewritten by a test) and <c>subsets</c> (Pods
/// subsets-v1, subsets-v2; its DestinationRule and VirtualService are rewritten by tests).</para>
/// <para>Every client run has a node id of its own; a NACK from any client is logged by the xDS server
/// (event 2004) and <see cref="Nacks"/> reads them back.</para>
/// </remarks>
public sealed class ProxylessMesh : IAsyncLifetime
{
    public const string Namespace = "proxyless";

    /// <summary>The manifest file a test rewrites to move the <c>moving</c> service's endpoints.</summary>
    public const string MovingPods = "50-moving-pods.yaml";

    /// <summary>The DestinationRule of <c>subsets</c>.</summary>
    public const string SubsetsRule = "60-subsets-dr.yaml";

    /// <summary>The VirtualService of <c>subsets</c>.</summary>
    public const string SubsetsRoutes = "61-subsets-vs.yaml";

    private static readonly string[] Names = ["split-v1", "split-v2", "faulty-v1", "moving-a", "moving-b", "subsets-v1", "subsets-v2"];
    private readonly Dictionary<string, ProxylessBackend> _backends = new(StringComparer.Ordinal);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("meshhost-proxyless-");
    private InProcessMeshHost? _host;
    private int _runs;

    /// <summary>How long the slow backend takes to answer.</summary>
    public static TimeSpan SlowDelay { get; } = TimeSpan.FromSeconds(3);

    /// <summary>The running host.</summary>
    internal InProcessMeshHost Host => _host ?? throw new InvalidOperationException("not started");

    /// <summary>The backend (Pod) called <paramref name="name"/>.</summary>
    internal ProxylessBackend Backend(string name) => _backends[name];

    public async Task InitializeAsync()
    {
        foreach (var backend in await Task.WhenAll(Names.Select(n => ProxylessBackend.StartAsync(n))))
        {
            _backends[backend.Name] = backend;
        }
        _backends["slow-v1"] = await ProxylessBackend.StartAsync("slow-v1", SlowDelay);

        Write("00-services.yaml", Services());
        Write("10-split.yaml", SplitTraffic);
        Write("20-faulty.yaml", FaultyTraffic);
        Write("30-slow.yaml", SlowTraffic);
        Write(MovingPods, Pod("moving-a", "moving", null));
        Write(SubsetsRule, SubsetsDestinationRule("v1", "v2"));
        Write(SubsetsRoutes, SubsetsVirtualService("v2"));
        _host = await InProcessMeshHost.StartAsync(["--urls", "http://127.0.0.1:0", "--manifests", _folder.FullName]);
        Assert.True(Host.Host.Publisher.Problems.Count == 0, "the test manifests have problems: " + string.Join("; ", Host.Host.Publisher.Problems));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }
        _folder.Delete(recursive: true);
    }

    /// <summary>Replaces the manifest file <paramref name="file"/> (the host's folder watch picks it up).</summary>
    public void Write(string file, string yaml) => File.WriteAllText(Path.Combine(_folder.FullName, file), yaml);

    /// <summary>A run of <paramref name="client"/> as a proxyless node of its own (<c>GENERATOR: grpc</c>) in
    /// namespace <see cref="Namespace"/>: the bootstrap istio-agent writes for a proxyless pod, given in
    /// <c>GRPC_XDS_BOOTSTRAP_CONFIG</c>.</summary>
    public XdsClientRun Run(XdsClientRunner client, string target, int calls)
    {
        ArgumentNullException.ThrowIfNull(client);
        var pod = string.Create(CultureInfo.InvariantCulture, $"{client.Name}-{Interlocked.Increment(ref _runs)}");
        var nodeId = $"sidecar~10.9.0.1~{pod}.{Namespace}~{Namespace}.svc.cluster.local";
        var bootstrap = new XdsBootstrap { ServerPort = Host.Grpc.Port, NodeId = nodeId };
        return new XdsClientRun
        {
            Bootstrap = bootstrap,
            Target = target,
            Calls = calls,
            Environment = new Dictionary<string, string> { ["GRPC_XDS_BOOTSTRAP_CONFIG"] = BootstrapJson(bootstrap, pod) },
        };
    }

    /// <summary>The NACKs the host has logged for <paramref name="nodeId"/>.</summary>
    public IReadOnlyList<string> Nacks(string nodeId) =>
        [.. Host.Log.Entries.Where(e => e.EventId.Id == 2004 && e.Message.Contains(nodeId, StringComparison.Ordinal)).Select(e => e.Message)];

    /// <summary>Fails when the host logged a NACK from the run's node.</summary>
    public void AssertNoNacks(XdsClientRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var nacks = Nacks(run.Bootstrap.NodeId);
        Assert.True(nacks.Count == 0, $"{run.Bootstrap.NodeId} rejected configuration:\n{string.Join("\n", nacks)}");
    }

    /// <summary>The proxy of a connected run's node, as the host read it.</summary>
    internal Proxy? Connected(XdsClientRun run) =>
        Host.Host.Publisher.Proxies.FirstOrDefault(p => p.Proxy.NodeId == run.Bootstrap.NodeId)?.Proxy;

    private static string BootstrapJson(XdsBootstrap bootstrap, string pod)
    {
        var json = JsonNode.Parse(bootstrap.ToJson())!.AsObject();
        json["node"]!["metadata"] = new JsonObject
        {
            ["GENERATOR"] = "grpc",
            ["NAMESPACE"] = Namespace,
            ["INSTANCE_IPS"] = "10.9.0.1",
            ["ISTIO_VERSION"] = "1.24.0",
            ["LABELS"] = new JsonObject { ["app"] = pod },
        };
        return json.ToJsonString();
    }

    private string Services() => string.Join("---\n",
        new[] { $"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {Namespace}}}\n" }
            .Concat(new[] { "split", "faulty", "slow", "moving", "subsets" }.Select((s, i) => Service(s, i)))
            .Concat(new[] { ("split-v1", "split", "v1"), ("split-v2", "split", "v2"), ("faulty-v1", "faulty", "v1"),
                ("slow-v1", "slow", "v1"), ("subsets-v1", "subsets", "v1"), ("subsets-v2", "subsets", "v2") }
                .Select(p => Pod(p.Item1, p.Item2, p.Item3))));

    private static string Service(string name, int index) => $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}, namespace: {{Namespace}}}
        spec:
          clusterIP: 10.96.70.{{index + 1}}
          selector: {app: {{name}}}
          ports: [{name: grpc, port: 7070, targetPort: grpc, appProtocol: grpc}]

        """;

    /// <summary>A ready Pod at 127.0.0.1 whose container port <c>grpc</c> is the backend <paramref name="name"/>'s.</summary>
    public string Pod(string name, string app, string? version) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          namespace: {{Namespace}}
          labels: {app: {{app}}{{(version is null ? "" : ", version: " + version)}}}
        spec:
          containers: [{name: echo, image: echo, ports: [{name: grpc, containerPort: {{_backends[name].Port}}}]}]
        status:
          phase: Running
          podIP: 127.0.0.1
          conditions: [{type: Ready, status: "True"}]

        """;

    private const string SplitTraffic = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: split, namespace: proxyless}
        spec:
          host: split
          subsets:
            - {name: v1, labels: {version: v1}}
            - {name: v2, labels: {version: v2}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: split, namespace: proxyless}
        spec:
          hosts: [split]
          http:
            - name: canary
              match: [{headers: {x-variant: {exact: canary}}}]
              route: [{destination: {host: split, subset: v2}}]
            - name: weighted
              route:
                - {destination: {host: split, subset: v1}, weight: 80}
                - {destination: {host: split, subset: v2}, weight: 20}
        """;

    private const string FaultyTraffic = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: faulty, namespace: proxyless}
        spec:
          hosts: [faulty]
          http:
            - fault: {abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 100}}}
              route: [{destination: {host: faulty}}]
        """;

    private const string SlowTraffic = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: slow, namespace: proxyless}
        spec:
          hosts: [slow]
          http:
            - timeout: 2s
              route: [{destination: {host: slow}}]
        """;

    /// <summary>The DestinationRule of <c>subsets</c> with the given subsets (by version label).</summary>
    public static string SubsetsDestinationRule(params string[] subsets) => """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: subsets, namespace: proxyless}
        spec:
          host: subsets
          subsets:

        """ + string.Concat(subsets.Select(s => $"    - name: {s}\n      labels: {{version: {s}}}\n"));

    /// <summary>The VirtualService of <c>subsets</c> sending every call to <paramref name="subset"/>.</summary>
    public static string SubsetsVirtualService(string subset) => $$"""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: subsets, namespace: proxyless}
        spec:
          hosts: [subsets]
          http:
            - route:
                - destination: {host: subsets, subset: {{subset}}}
        """;
}

/// <summary>The real-client cases share one <see cref="ProxylessMesh"/> and run one at a time.</summary>
[CollectionDefinition(nameof(ProxylessMesh), DisableParallelization = true)]
public sealed class ProxylessMeshGroup : ICollectionFixture<ProxylessMesh>;
