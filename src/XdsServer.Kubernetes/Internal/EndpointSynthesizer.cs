using System.Collections.Frozen;
using k8s.Models;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// Endpoints for a folder that has no EndpointSlices (a cluster's endpoint controller is not there to write them):
/// <list type="bullet">
/// <item>A Service with a selector that no EndpointSlice of the folder belongs to (label
/// <c>kubernetes.io/service-name</c>) gets a group of the Pods of its namespace whose labels match the selector and
/// that have an IP and have not finished, one endpoint per pod IP, with the service's target ports (a named target
/// port is looked up among the pod's container ports; a pod without it does not serve that port).</item>
/// <item>A ServiceEntry with a <c>workloadSelector</c> gets a group of the WorkloadEntries and Pods of its namespace
/// that match, with each port at the WorkloadEntry's port of that name, else the target port, else the number
/// (as Istio does).</item>
/// </list>
/// A group is keyed <c>(<see cref="ManifestDiscoverySource.SelectedEndpointsKind"/>, namespace, service name)</c>
/// and versioned by the versions of the service and the workloads it holds; a service that selects nothing gets none.
/// </summary>
/// <remarks>
/// Cost per folder read: O(objects) to index the workloads by (namespace, label), then per service only the workloads
/// carrying one of its selector's labels are checked (not every pod of the folder: 1,000 services × 10,000 pods was
/// 10 million selector checks, ~0.8 s per change; benchmarks/RESULTS.md §9). A service whose object and selected
/// workloads are the same instances as at the last read (their files were not parsed again) keeps its last group,
/// so only the services of changed files build endpoints and versions anew. Not thread-safe: one read at a time
/// (<see cref="ManifestDiscoverySource"/> reads sequentially).
/// </remarks>
internal sealed class EndpointSynthesizer
{
    /// <summary>The last read's group per service, with the service and workload instances it was built from.</summary>
    private Dictionary<ObjectKey, Built> _built = [];

    public List<EndpointGroup> Synthesize(IReadOnlyList<ManifestEntry> entries)
    {
        var all = entries.SelectMany(e => e.Translated.Select(o => (Entry: e, Object: o))).ToList();
        var sliced = all.Select(t => t.Object).OfType<EndpointGroup>().Where(g => g.Key.Kind == RegistryKinds.EndpointSlice)
            .Select(g => g.Service).ToHashSet();
        var pods = Index(all.Where(t => t.Object is Workload && t.Entry.Object is V1Pod { Status.Phase: not ("Succeeded" or "Failed") })
            .Select(t => ((Workload)t.Object, (V1Pod)t.Entry.Object)));
        var workloadEntries = Index(all.Where(t => t.Object is Workload && t.Entry.Object is GenericObject)
            .Select(t => ((Workload)t.Object, (GenericObject)t.Entry.Object)));

        List<EndpointGroup> groups = [];
        var built = new Dictionary<ObjectKey, Built>();
        foreach (var service in all.Select(t => t.Object).OfType<DiscoveredService>())
        {
            if (service.Selector.Count == 0 || (service.Key.Kind == RegistryKinds.Service && sliced.Contains(service.Key)))
            {
                continue;
            }

            var isEntry = service.Key.Kind == RegistryKinds.ServiceEntry;
            var selectedPods = Selected(pods, service);
            var selectedEntries = isEntry ? Selected(workloadEntries, service) : [];
            List<Workload> workloads = [.. selectedPods.Select(p => p.Workload), .. selectedEntries.Select(w => w.Workload)];
            if (_built.TryGetValue(service.Key, out var last) && ReferenceEquals(last.Service, service)
                && last.Workloads.SequenceEqual(workloads, ReferenceEqualityComparer.Instance))
            {
                // Same instances: same files, not parsed again since; the group would come out the same.
                built[service.Key] = last;
                if (last.Group is { } kept)
                {
                    groups.Add(kept);
                }
                continue;
            }

            List<WorkloadEndpoint> endpoints = [];
            List<string> versions = [service.ResourceVersion];
            foreach (var (workload, pod) in selectedPods)
            {
                var ports = isEntry ? KubernetesTranslator.EndpointPorts(service.Ports, FrozenDictionary<string, int>.Empty) : PodPorts(service, pod);
                Add(endpoints, versions, workload, ports);
            }

            foreach (var (workload, entry) in selectedEntries)
            {
                Add(endpoints, versions, workload, KubernetesTranslator.EndpointPorts(service.Ports, KubernetesTranslator.WorkloadEntryPorts(entry)));
            }

            EndpointGroup? group = null;
            if (endpoints.Count > 0)
            {
                group = new EndpointGroup
                {
                    Key = new ObjectKey(ManifestDiscoverySource.SelectedEndpointsKind, service.Key.Namespace, service.Key.Name),
                    ResourceVersion = ContentVersion.Combine(versions),
                    Service = service.Key,
                    Endpoints = endpoints,
                };
                groups.Add(group);
            }

            built[service.Key] = new Built(service, workloads, group);
        }

        _built = built;
        return groups;
    }

    /// <summary>The workloads by (namespace, label name, label value), each list in the order given.</summary>
    private static Dictionary<(string Namespace, string Name, string Value), List<(Workload Workload, T Source)>> Index<T>(
        IEnumerable<(Workload Workload, T Source)> workloads)
    {
        var index = new Dictionary<(string, string, string), List<(Workload, T)>>();
        foreach (var item in workloads)
        {
            foreach (var (name, value) in item.Workload.Labels)
            {
                var key = (item.Workload.Key.Namespace, name, value);
                if (!index.TryGetValue(key, out var list))
                {
                    index[key] = list = [];
                }

                list.Add(item);
            }
        }

        return index;
    }

    /// <summary>The workloads of the service's namespace that its (non-empty) selector matches, in index order: the
    /// shortest list of one selector label, filtered by the whole selector.</summary>
    private static List<(Workload Workload, T Source)> Selected<T>(
        Dictionary<(string Namespace, string Name, string Value), List<(Workload Workload, T Source)>> index, DiscoveredService service)
    {
        List<(Workload, T)>? shortest = null;
        foreach (var (name, value) in service.Selector)
        {
            if (!index.TryGetValue((service.Key.Namespace, name, value), out var list))
            {
                return []; // no workload has this label: the selector matches none
            }

            if (shortest is null || list.Count < shortest.Count)
            {
                shortest = list;
            }
        }

        return shortest is null ? [] : [.. shortest.Where(w => Selects(service, w.Item1))];
    }

    private static bool Selects(DiscoveredService service, Workload workload) =>
        workload.Key.Namespace == service.Key.Namespace
        && service.Selector.All(s => workload.Labels.TryGetValue(s.Key, out var value) && value == s.Value);

    private sealed record Built(DiscoveredService Service, List<Workload> Workloads, EndpointGroup? Group);

    private static void Add(List<WorkloadEndpoint> endpoints, List<string> versions, Workload workload, IReadOnlyDictionary<string, int> ports)
    {
        versions.Add($"{workload.Key}@{workload.ResourceVersion}");
        endpoints.AddRange(workload.Addresses.Select(address => new WorkloadEndpoint
        {
            Address = address,
            Ports = ports,
            Ready = workload.Ready,
            Labels = workload.Labels,
            ServiceAccount = workload.ServiceAccount,
            Locality = workload.Locality,
            NodeName = workload.NodeName,
            TlsMode = workload.TlsMode,
            Workload = workload.Key,
        }));
    }

    /// <summary>A Kubernetes Service's ports on one pod: the numeric target port, the pod's container port of the named
    /// target port (absent when the pod has none of that name), or the service port itself.</summary>
    private static FrozenDictionary<string, int> PodPorts(DiscoveredService service, V1Pod pod)
    {
        var named = (pod.Spec?.Containers ?? []).SelectMany(c => c.Ports ?? []).Where(p => !string.IsNullOrEmpty(p.Name))
            .DistinctBy(p => p.Name).ToDictionary(p => p.Name, p => p.ContainerPort, StringComparer.Ordinal);
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var port in service.Ports)
        {
            if (port.TargetPort > 0)
            {
                ports.TryAdd(port.Name, port.TargetPort);
            }
            else if (port.TargetPortName is { } name)
            {
                if (named.TryGetValue(name, out var number))
                {
                    ports.TryAdd(port.Name, number);
                }
            }
            else
            {
                ports.TryAdd(port.Name, port.Port);
            }
        }

        return ports.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
