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
internal static class EndpointSynthesizer
{
    public static List<EndpointGroup> Synthesize(IReadOnlyList<ManifestEntry> entries)
    {
        var all = entries.SelectMany(e => e.Translated.Select(o => (Entry: e, Object: o))).ToList();
        var sliced = all.Select(t => t.Object).OfType<EndpointGroup>().Where(g => g.Key.Kind == RegistryKinds.EndpointSlice)
            .Select(g => g.Service).ToHashSet();
        var pods = all.Where(t => t.Object is Workload && t.Entry.Object is V1Pod { Status.Phase: not ("Succeeded" or "Failed") })
            .Select(t => ((Workload)t.Object, (V1Pod)t.Entry.Object)).ToList();
        var workloadEntries = all.Where(t => t.Object is Workload && t.Entry.Object is GenericObject)
            .Select(t => ((Workload)t.Object, (GenericObject)t.Entry.Object)).ToList();

        List<EndpointGroup> groups = [];
        foreach (var service in all.Select(t => t.Object).OfType<DiscoveredService>())
        {
            if (service.Selector.Count == 0 || (service.Key.Kind == RegistryKinds.Service && sliced.Contains(service.Key)))
            {
                continue;
            }

            var isEntry = service.Key.Kind == RegistryKinds.ServiceEntry;
            List<WorkloadEndpoint> endpoints = [];
            List<string> versions = [service.ResourceVersion];
            foreach (var (workload, pod) in pods.Where(p => Selects(service, p.Item1)))
            {
                var ports = isEntry ? KubernetesTranslator.EndpointPorts(service.Ports, FrozenDictionary<string, int>.Empty) : PodPorts(service, pod);
                Add(endpoints, versions, workload, ports);
            }

            if (isEntry)
            {
                foreach (var (workload, entry) in workloadEntries.Where(w => Selects(service, w.Item1)))
                {
                    Add(endpoints, versions, workload, KubernetesTranslator.EndpointPorts(service.Ports, KubernetesTranslator.WorkloadEntryPorts(entry)));
                }
            }

            if (endpoints.Count > 0)
            {
                groups.Add(new EndpointGroup
                {
                    Key = new ObjectKey(ManifestDiscoverySource.SelectedEndpointsKind, service.Key.Namespace, service.Key.Name),
                    ResourceVersion = ContentVersion.Combine(versions),
                    Service = service.Key,
                    Endpoints = endpoints,
                });
            }
        }

        return groups;
    }

    private static bool Selects(DiscoveredService service, Workload workload) =>
        workload.Key.Namespace == service.Key.Namespace
        && service.Selector.All(s => workload.Labels.TryGetValue(s.Key, out var value) && value == s.Value);

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
