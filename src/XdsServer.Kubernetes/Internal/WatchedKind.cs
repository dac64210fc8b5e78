using System.Text.Json;
using k8s;
using k8s.Models;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Internal;

/// <summary>One kind the live source lists and watches: where it is served, how its JSON becomes an object for the
/// translator, and which registry kinds its objects become.</summary>
internal sealed class WatchedKind
{
    private static readonly JsonElement EmptySpec = JsonDocument.Parse("{}").RootElement.Clone();
    private readonly Func<JsonElement, IKubernetesObject<V1ObjectMeta>> _parse;

    private WatchedKind(string group, string version, string kind, string plural, bool namespaced, bool optional,
        bool labelSelected, string registryKind, Func<JsonElement, IKubernetesObject<V1ObjectMeta>> parse)
    {
        Group = group;
        Version = version;
        Kind = kind;
        Plural = plural;
        Namespaced = namespaced;
        Optional = optional;
        LabelSelected = labelSelected;
        RegistryKind = registryKind;
        _parse = parse;
    }

    public string Group { get; }

    public string Version { get; }

    public string Kind { get; }

    public string Plural { get; }

    public bool Namespaced { get; }

    /// <summary>A custom kind whose CRD may be missing (404 on list): reported, not fatal.</summary>
    public bool Optional { get; }

    /// <summary>Whether the source's label selector applies.</summary>
    public bool LabelSelected { get; }

    /// <summary>The registry kind its objects are expected to become; a relist replaces it (with whatever other
    /// kinds the translator gave).</summary>
    public string RegistryKind { get; }

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The kinds of the live source, in the order they are started.</summary>
    public static IReadOnlyList<WatchedKind> For(IEnumerable<CustomResourceKind> custom) =>
    [
        Typed<V1Service>(RegistryKinds.Service, labelSelected: true),
        Typed<V1EndpointSlice>(RegistryKinds.EndpointSlice, labelSelected: true),
        Typed<V1Pod>(RegistryKinds.Pod, labelSelected: true),
        Typed<V1Namespace>("Namespace", labelSelected: false),
        Typed<V1Node>("Node", labelSelected: false),
        .. custom.Distinct().Select(c => new WatchedKind(c.Group, c.Version, c.Kind, c.Plural, namespaced: true, optional: true,
            labelSelected: true, $"{c.Group}/{c.Kind}", e => ParseGeneric(e, $"{c.Group}/{c.Version}", c.Kind))),
    ];

    /// <summary>The request path (relative to the server's base address) of the kind, in a namespace or all.</summary>
    public string Path(string? ns) =>
        (Group.Length == 0 ? "api/v1" : $"apis/{Group}/{Version}") + (ns is null ? string.Empty : $"/namespaces/{Uri.EscapeDataString(ns)}") + "/" + Plural;

    /// <summary>An object of this kind from its JSON; apiVersion and kind are filled in when the API server left
    /// them out (list items of built-in kinds).</summary>
    public IKubernetesObject<V1ObjectMeta> Parse(JsonElement json)
    {
        var obj = _parse(json);
        if (string.IsNullOrEmpty(obj.ApiVersion))
        {
            obj.ApiVersion = ApiVersion;
        }

        if (string.IsNullOrEmpty(obj.Kind))
        {
            obj.Kind = Kind;
        }

        obj.Metadata ??= new V1ObjectMeta();
        return obj;
    }

    public override string ToString() => $"{ApiVersion} {Plural}";

    private static WatchedKind Typed<T>(string registryKind, bool labelSelected)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var entity = (KubernetesEntityAttribute)Attribute.GetCustomAttribute(typeof(T), typeof(KubernetesEntityAttribute))!;
        var namespaced = typeof(T) != typeof(V1Namespace) && typeof(T) != typeof(V1Node);
        return new WatchedKind(entity.Group, entity.ApiVersion, entity.Kind, entity.PluralName, namespaced, optional: false,
            labelSelected, registryKind, e => KubernetesJson.Deserialize<T>(e.GetRawText()));
    }

    private static GenericObject ParseGeneric(JsonElement json, string apiVersion, string kind) => new()
    {
        ApiVersion = json.TryGetProperty("apiVersion", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : apiVersion,
        Kind = json.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : kind,
        Metadata = json.TryGetProperty("metadata", out var m) ? KubernetesJson.Deserialize<V1ObjectMeta>(m.GetRawText()) : new V1ObjectMeta(),
        Spec = json.TryGetProperty("spec", out var s) && s.ValueKind == JsonValueKind.Object ? s.Clone() : EmptySpec,
    };
}
