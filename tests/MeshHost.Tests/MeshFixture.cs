using MeshHost.Generation;
using MeshHost.Model;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Discovery;
using XdsServer.Kubernetes;

namespace MeshHost.Tests;

/// <summary>Builds a <see cref="PushContext"/> from Kubernetes/Istio YAML the way the host does: the manifests go
/// through the real manifest-folder source into a service registry.</summary>
public static class MeshFixture
{
    /// <summary>The registry state of <paramref name="yaml"/> (one or more YAML documents).</summary>
    public static async Task<PushContext> LoadAsync(string yaml, MeshOptions? options = null)
    {
        var folder = Directory.CreateTempSubdirectory("meshhost-test-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "mesh.yaml"), yaml);
            var registry = new ServiceRegistry();
            using var source = new ManifestDiscoverySource(new ManifestDiscoveryOptions { Directory = folder.FullName, Domain = options?.Domain ?? "cluster.local" });
            using var stop = new CancellationTokenSource();
            var sink = registry.OpenSink(source.Name);
            var run = source.RunAsync(sink, stop.Token);
            var ready = await Task.WhenAny(registry.WhenReady, run, Task.Delay(TimeSpan.FromSeconds(30)));
            if (ready != registry.WhenReady)
            {
                throw new TimeoutException("The manifest source did not become ready within 30 s" + (run.IsFaulted ? $": {run.Exception}" : "."));
            }
            if (source.Problems.Count > 0)
            {
                throw new InvalidOperationException("The test manifests have problems: " + string.Join("; ", source.Problems));
            }
            var context = new PushContext(registry.Current, options ?? new MeshOptions());
            await stop.CancelAsync();
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
            return context;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>A node as istio-agent describes a sidecar (or, with <paramref name="type"/> <c>router</c>, a gateway).</summary>
    public static Node Node(string ip, string pod, string @namespace, IReadOnlyDictionary<string, string>? labels = null,
        string type = "sidecar", string? serviceAccount = null, string? generator = null)
    {
        var meta = new Struct();
        meta.Fields["NAMESPACE"] = Value.ForString(@namespace);
        meta.Fields["INSTANCE_IPS"] = Value.ForString(ip);
        meta.Fields["ISTIO_VERSION"] = Value.ForString("1.24.0");
        if (serviceAccount is not null)
        {
            meta.Fields["SERVICE_ACCOUNT"] = Value.ForString(serviceAccount);
        }
        if (generator is not null)
        {
            meta.Fields["GENERATOR"] = Value.ForString(generator);
        }
        var l = new Struct();
        foreach (var (k, v) in labels ?? new Dictionary<string, string>())
        {
            l.Fields[k] = Value.ForString(v);
        }
        meta.Fields["LABELS"] = Value.ForStruct(l);
        return new Node
        {
            Id = $"{type}~{ip}~{pod}.{@namespace}~{@namespace}.svc.cluster.local",
            Metadata = meta,
            UserAgentName = "envoy",
        };
    }

    /// <summary><see cref="Node"/> parsed as the host parses it.</summary>
    public static Proxy Proxy(string ip, string pod, string @namespace, IReadOnlyDictionary<string, string>? labels = null,
        string type = "sidecar", string? serviceAccount = null, string? generator = null)
    {
        if (!MeshHost.Model.Proxy.TryParse(Node(ip, pod, @namespace, labels, type, serviceAccount, generator), out var proxy, out var error))
        {
            throw new InvalidOperationException(error);
        }
        return proxy;
    }
}
