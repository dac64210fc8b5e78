using System.Text.Json;
using MeshHost.Istio;
using XdsServer.Discovery;

namespace MeshHost.Hosting;

/// <summary>
/// <c>/debug/registryz</c> (the service registry: services with their ports and endpoints, workloads, and the other
/// objects by key) and <c>/debug/configz</c> (the Istio configuration objects the mesh reads, with their specs), as
/// JSON. Neither carries a secret: a Secret (or any kind outside Istio's API groups) is listed at most by its key,
/// never with its content. Loopback callers only (<see cref="DebugEndpoints.IsAllowed"/>).
/// </summary>
public static class RegistryEndpoints
{
    /// <summary>The registry's path.</summary>
    public const string RegistryPath = "/debug/registryz";

    /// <summary>The Istio configuration's path.</summary>
    public const string ConfigPath = "/debug/configz";

    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>Maps both endpoints.</summary>
    /// <param name="endpoints">The host's endpoints.</param>
    public static void MapRegistryDebug(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet(RegistryPath, (ServiceRegistry registry) => Json(json => WriteRegistry(json, registry)))
            .AddEndpointFilter(DebugEndpoints.LocalOnly);
        endpoints.MapGet(ConfigPath, (ServiceRegistry registry) => Json(json => WriteConfig(json, registry.Current)))
            .AddEndpointFilter(DebugEndpoints.LocalOnly);
    }

    /// <summary>How many objects of each kind the registry holds, by kind name.</summary>
    /// <param name="snapshot">The registry's snapshot.</param>
    public static IEnumerable<(string Kind, int Count)> Kinds(RegistrySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return KnownKinds(snapshot).Select(kind => (kind, snapshot.OfKind(kind).Count())).Where(k => k.Item2 > 0);
    }

    /// <summary>Whether a kind is Istio configuration (its API group is one of Istio's).</summary>
    /// <param name="kind">A registry kind, group-qualified (<c>networking.istio.io/VirtualService</c>).</param>
    public static bool IsIstioConfig(string kind) =>
        kind.Contains(".istio.io/", StringComparison.Ordinal) && kind != RegistryKinds.ServiceEntry && kind != RegistryKinds.WorkloadEntry;

    /// <summary>The kinds the registry can hold (it has no list of its own): its typed kinds, Namespaces and Nodes, and
    /// the Istio kinds the discovery sources read.</summary>
    private static IEnumerable<string> KnownKinds(RegistrySnapshot snapshot) =>
        new[]
        {
            RegistryKinds.Service, RegistryKinds.ServiceEntry, RegistryKinds.EndpointSlice, RegistryKinds.Pod, RegistryKinds.WorkloadEntry,
            RegistryKinds.Node, "Namespace",
        }
        .Concat(XdsServer.Kubernetes.CustomResourceKind.IstioDefaults.Select(k => $"{k.Group}/{k.Kind}"))
        .Concat([IstioKinds.VirtualService, IstioKinds.DestinationRule, IstioKinds.Gateway, IstioKinds.Sidecar, IstioKinds.PeerAuthentication,
            IstioKinds.AuthorizationPolicy, IstioKinds.RequestAuthentication])
        .Distinct(StringComparer.Ordinal);

    private static IResult Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Indented))
        {
            write(json);
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    private static void WriteRegistry(Utf8JsonWriter json, ServiceRegistry registry)
    {
        var snapshot = registry.Current;
        json.WriteStartObject();
        json.WriteNumber("generation", snapshot.Generation);
        json.WriteBoolean("ready", registry.IsReady);
        json.WriteStartArray("sources");
        foreach (var source in registry.Sources)
        {
            json.WriteStartObject();
            json.WriteString("name", source.Name);
            json.WriteBoolean("ready", source.Ready);
            json.WriteBoolean("healthy", source.Healthy);
            json.WriteString("message", source.Message);
            json.WriteString("since", source.Since);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("services");
        foreach (var service in snapshot.Services.OrderBy(s => s.Hostname, StringComparer.Ordinal).ThenBy(s => s.Key.Namespace, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            Key(json, service);
            json.WriteString("hostname", service.Hostname);
            Strings(json, "addresses", service.Addresses);
            json.WriteStartArray("ports");
            foreach (var port in service.Ports)
            {
                json.WriteStartObject();
                json.WriteString("name", port.Name);
                json.WriteNumber("port", port.Port);
                json.WriteNumber("targetPort", port.TargetPort);
                json.WriteString("protocol", port.Protocol.ToString());
                json.WriteEndObject();
            }

            json.WriteEndArray();
            Strings(json, "exportTo", service.ExportTo);
            Map(json, "selector", service.Selector);
            json.WriteString("resolution", service.Resolution);
            json.WriteBoolean("meshExternal", service.MeshExternal);
            json.WriteStartArray("endpoints");
            foreach (var endpoint in snapshot.EndpointsOf(service.Key).OrderBy(e => e.Address, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("address", endpoint.Address);
                json.WriteStartObject("ports");
                foreach (var (name, number) in endpoint.Ports.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    json.WriteNumber(name, number);
                }

                json.WriteEndObject();
                json.WriteBoolean("ready", endpoint.Ready);
                json.WriteBoolean("terminating", endpoint.Terminating);
                json.WriteString("serviceAccount", endpoint.ServiceAccount);
                var locality = snapshot.LocalityOf(endpoint);
                json.WriteString("locality", string.Join('/', new[] { locality.Region, locality.Zone, locality.Subzone }.Where(p => p.Length > 0)));
                json.WriteString("tlsMode", endpoint.TlsMode);
                Map(json, "labels", endpoint.Labels);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("workloads");
        foreach (var workload in snapshot.OfKind(RegistryKinds.Pod).Concat(snapshot.OfKind(RegistryKinds.WorkloadEntry)).OfType<Workload>()
            .OrderBy(w => w.Key.ToString(), StringComparer.Ordinal))
        {
            json.WriteStartObject();
            Key(json, workload);
            Strings(json, "addresses", workload.Addresses);
            json.WriteString("serviceAccount", workload.ServiceAccount);
            json.WriteBoolean("ready", workload.Ready);
            json.WriteString("tlsMode", workload.TlsMode);
            Map(json, "labels", workload.Labels);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        // Everything else by key only: the registry may hold kinds whose content is nobody's business here.
        json.WriteStartArray("otherObjects");
        var typed = new HashSet<string>(StringComparer.Ordinal)
        {
            RegistryKinds.Service, RegistryKinds.ServiceEntry, RegistryKinds.EndpointSlice, RegistryKinds.Pod, RegistryKinds.WorkloadEntry,
        };
        foreach (var item in snapshot.OfKind("Namespace").Concat(snapshot.OfKind(RegistryKinds.Node))
            .Concat(KnownKinds(snapshot).Where(IsIstioConfig).SelectMany(snapshot.OfKind))
            .Where(o => !typed.Contains(o.Key.Kind))
            .OrderBy(o => o.Key.ToString(), StringComparer.Ordinal))
        {
            json.WriteStartObject();
            Key(json, item);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteConfig(Utf8JsonWriter json, RegistrySnapshot snapshot)
    {
        json.WriteStartObject();
        json.WriteNumber("generation", snapshot.Generation);
        json.WriteStartArray("objects");
        foreach (var item in KnownKinds(snapshot).Where(IsIstioConfig).SelectMany(snapshot.OfKind).OfType<ConfigObject>()
            .OrderBy(o => o.Key.Kind, StringComparer.Ordinal).ThenBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            Key(json, item);
            Map(json, "labels", item.Labels);
            json.WritePropertyName("spec");
            if (item.Spec.ValueKind == JsonValueKind.Undefined)
            {
                json.WriteStartObject();
                json.WriteEndObject();
            }
            else
            {
                item.Spec.WriteTo(json);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Key(Utf8JsonWriter json, RegistryObject item)
    {
        json.WriteString("kind", item.Key.Kind);
        json.WriteString("namespace", item.Key.Namespace);
        json.WriteString("name", item.Key.Name);
        json.WriteString("resourceVersion", item.ResourceVersion);
    }

    private static void Strings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void Map(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, string> values)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }
}
