using System.Globalization;
using System.Text;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;

namespace XdsLoad;

/// <summary>One generated pod a simulated sidecar stands for.</summary>
internal sealed record MeshPod(string Name, string Namespace, string App, string Ip);

/// <summary>
/// The mesh the MeshHost mode serves, written as a manifest folder (examples/MeshHost <c>--manifests</c>):
/// <c>services</c> Services in <c>namespaces</c> namespaces (service i in namespace <c>ns-{i / perNamespace}</c>), each
/// one HTTP port 80 → 8080 selecting <c>podsPerService</c> Running/Ready pods with private IPs (10.x.y.z), one file
/// per service; with scoping, a Sidecar per namespace whose egress is <c>./*</c> and <c>istio-system/*</c>. The
/// changes the run makes live in files of their own under <c>changes/</c>, written atomically (temp file + rename):
/// an extra pod of service 0 flipped between not ready and ready, a VirtualService of service 0 whose timeout
/// changes, and a new service in namespace 0.
/// </summary>
internal sealed class MeshManifests
{
    public const string Domain = "cluster.local";
    public const int Port = 80;
    public const int TargetPort = 8080;

    public MeshManifests(string directory, int services, int namespaces, int podsPerService, bool scoping)
    {
        if (services < 1 || namespaces < 1 || services % namespaces != 0)
        {
            throw new ArgumentException($"--services ({services}) must be a positive multiple of --namespaces ({namespaces})");
        }

        Directory = directory;
        Services = services;
        Namespaces = namespaces;
        PodsPerService = podsPerService;
        Scoping = scoping;
    }

    public string Directory { get; }

    public int Services { get; }

    public int Namespaces { get; }

    public int PodsPerService { get; }

    public bool Scoping { get; }

    public int PerNamespace => Services / Namespaces;

    public static string NamespaceName(int n) => $"ns-{n}";

    public string NamespaceOf(int service) => NamespaceName(service / PerNamespace);

    public static string Host(string service, string ns) => $"{service}.{ns}.svc.{Domain}";

    /// <summary>istiod's outbound cluster name (and EDS service name) of a service's port.</summary>
    public static string OutboundCluster(string service, string ns) => $"outbound|{Port}||{Host(service, ns)}";

    /// <summary>Service 0: the one the endpoint and VirtualService changes touch.</summary>
    public const string ChangedService = "svc-0";

    public string ChangedNamespace => NamespaceOf(0);

    public const string FlipPodIp = "10.200.0.1";

    public const string NewService = "svc-new";

    /// <summary>The pod simulated proxy <paramref name="index"/> stands for: proxies go round the namespaces, then
    /// round the services of a namespace, then round the pods of a service, so any N spreads evenly.</summary>
    public MeshPod PodOf(int index)
    {
        var ns = index % Namespaces;
        var local = index / Namespaces % PerNamespace;
        var pod = index / Services % PodsPerService;
        var service = ns * PerNamespace + local;
        return new MeshPod($"svc-{service}-{pod}", NamespaceName(ns), $"svc-{service}", PodIp(service, pod));
    }

    /// <summary>The node istio-agent would send for a sidecar of <paramref name="pod"/>.</summary>
    public static Node NodeOf(MeshPod pod)
    {
        var labels = new Struct { Fields = { ["app"] = Value.ForString(pod.App) } };
        return new Node
        {
            Id = $"sidecar~{pod.Ip}~{pod.Name}.{pod.Namespace}~{pod.Namespace}.svc.{Domain}",
            Cluster = $"{pod.App}.{pod.Namespace}",
            UserAgentName = "envoy",
            Metadata = new Struct
            {
                Fields =
                {
                    ["NAMESPACE"] = Value.ForString(pod.Namespace),
                    ["LABELS"] = Value.ForStruct(labels),
                    ["INSTANCE_IPS"] = Value.ForString(pod.Ip),
                },
            },
        };
    }

    /// <summary>Writes the whole folder (which must be empty or missing).</summary>
    public void Write()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var nsText = new StringBuilder();
        nsText.Append(Namespace("istio-system"));
        for (var n = 0; n < Namespaces; n++)
        {
            var ns = NamespaceName(n);
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, ns));
            nsText.Append(Namespace(ns));
            if (Scoping)
            {
                File.WriteAllText(Path.Combine(Directory, ns, "sidecar.yaml"), $$$"""
                    apiVersion: networking.istio.io/v1
                    kind: Sidecar
                    metadata: {name: default, namespace: {{{ns}}}}
                    spec:
                      egress:
                        - hosts: ["./*", "istio-system/*"]

                    """);
            }
        }

        File.WriteAllText(Path.Combine(Directory, "namespaces.yaml"), nsText.ToString());
        for (var i = 0; i < Services; i++)
        {
            var ns = NamespaceOf(i);
            var text = new StringBuilder(Service($"svc-{i}", ns, ClusterIp(i)));
            for (var p = 0; p < PodsPerService; p++)
            {
                text.Append(Pod($"svc-{i}-{p}", ns, $"svc-{i}", PodIp(i, p), ready: true));
            }

            File.WriteAllText(Path.Combine(Directory, ns, $"svc-{i}.yaml"), text.ToString());
        }

        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "changes"));
        WriteFlipPod(ready: false);
        WriteVirtualService(timeoutSeconds: 5);
    }

    /// <summary>The extra pod of service 0, ready or not.</summary>
    public void WriteFlipPod(bool ready) =>
        WriteAtomically("flip-pod.yaml", Pod("svc-0-flip", ChangedNamespace, ChangedService, FlipPodIp, ready));

    /// <summary>The VirtualService of service 0: one route to it with this timeout.</summary>
    public void WriteVirtualService(int timeoutSeconds)
    {
        var host = Host(ChangedService, ChangedNamespace);
        WriteAtomically("virtual-service.yaml", $$$"""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: {{{ChangedService}}}, namespace: {{{ChangedNamespace}}}}
            spec:
              hosts: [{{{host}}}]
              http:
                - route:
                    - destination: {host: {{{host}}}}
                  timeout: {{{timeoutSeconds}}}s

            """);
    }

    /// <summary>A new service in namespace 0 with one ready pod.</summary>
    public void WriteNewService() =>
        WriteAtomically("new-service.yaml", Service(NewService, ChangedNamespace, "10.199.0.1")
            + Pod($"{NewService}-0", ChangedNamespace, NewService, "10.199.0.2", ready: true));

    private void WriteAtomically(string name, string text)
    {
        // Names starting with '.' are skipped by the manifest source: the rename is the one change it sees.
        var folder = Path.Combine(Directory, "changes");
        var temp = Path.Combine(folder, "." + name + ".tmp");
        File.WriteAllText(temp, text);
        File.Move(temp, Path.Combine(folder, name), overwrite: true);
    }

    private static string Namespace(string name) => $$$"""
        apiVersion: v1
        kind: Namespace
        metadata: {name: {{{name}}}}
        ---

        """;

    private static string Service(string name, string ns, string clusterIp) => $$$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{{name}}}, namespace: {{{ns}}}, labels: {app: {{{name}}}}}
        spec:
          clusterIP: {{{clusterIp}}}
          selector: {app: {{{name}}}}
          ports:
            - {name: http, port: {{{Port}}}, targetPort: {{{TargetPort}}}}
        ---

        """;

    private static string Pod(string name, string ns, string app, string ip, bool ready) => $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{name}}}, namespace: {{{ns}}}, labels: {app: {{{app}}}}}
        spec:
          containers:
            - {name: app, image: app, ports: [{name: http, containerPort: {{{TargetPort}}}}]}
        status:
          phase: Running
          podIP: {{{ip}}}
          conditions: [{type: Ready, status: "{{{(ready ? "True" : "False")}}}"}]
        ---

        """;

    private static string ClusterIp(int service) => Ip(10, 96, service + 1);

    private string PodIp(int service, int pod) => Ip(10, 1, (service * PodsPerService) + pod + 1);

    private static string Ip(int a, int b, int offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{a}.{b + (offset >> 16)}.{(offset >> 8) & 255}.{offset & 255}");
}
