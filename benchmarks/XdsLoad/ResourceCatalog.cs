using System.Collections.Concurrent;
using System.Security.Cryptography;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;

namespace XdsLoad;

/// <summary>The four ADS types a proxy subscribes to, in subscription order.</summary>
internal static class XdsType
{
    public const int Cluster = 0;
    public const int Endpoint = 1;
    public const int Listener = 2;
    public const int Route = 3;
    public const int Count = 4;

    public static readonly string[] Urls =
    [
        "type.googleapis.com/envoy.config.cluster.v3.Cluster",
        "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
        "type.googleapis.com/envoy.config.listener.v3.Listener",
        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    ];

    public static readonly string[] ShortNames = ["CDS", "EDS", "LDS", "RDS"];

    public static int IndexOf(string typeUrl) => Array.IndexOf(Urls, typeUrl);
}

/// <summary>What a proxy derives from a Cluster or Listener response: the names it then subscribes to (EDS service
/// names, RDS route configuration names), or why it rejects the response.</summary>
internal sealed record Derived(string[] Names, string? Error);

/// <summary>What a SotW proxy holds of one type: resource name → digest of its bytes (<see cref="ResourceCatalog.Digest"/>).
/// Immutable and shared by every proxy that went through the same responses (see <see cref="ResourceCatalog.SotwHeld"/>).</summary>
internal sealed class HeldSet(Dictionary<string, string> digests)
{
    public IReadOnlyDictionary<string, string> Digests { get; } = digests;
}

/// <summary>
/// Work shared by every simulated proxy, so that 10,000 of them cost the load tool about what one does: CDS and
/// LDS bodies are parsed once per (type, version) (SotW) or per (name, version) (delta); names and versions are
/// interned. EDS and RDS bodies are not parsed (an Envoy would; this tool measures the server): only their Any type
/// URLs are checked.
/// </summary>
internal sealed class ResourceCatalog
{
    private readonly ConcurrentDictionary<(int Type, string Version), Lazy<Derived>> _sotw = new();
    private readonly ConcurrentDictionary<(int Type, string Name, string Version), Lazy<Derived>> _delta = new();
    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string[]> _nameArrays = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(HeldSet? Old, int Type, string Version, int Count, long Bytes, int Prefixes), Lazy<HeldSet>> _held = new();

    /// <summary>The digest both sides compare (XdsLoad.Server's <c>GET /published</c> computes the same): the first
    /// 8 bytes of the SHA-256 of a resource's serialized bytes, lower-case hex.</summary>
    public static string Digest(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes)[..8]);

    /// <summary>
    /// What a SotW proxy holds after accepting <paramref name="resources"/> (at <paramref name="version"/>) on top of
    /// <paramref name="old"/>: Cluster and Listener responses carry the full state and replace it; Endpoint and Route
    /// responses carry the resources they carry, which replace the held ones of the same name. The result is shared:
    /// a transition is computed (names parsed, bytes hashed) once per old set and response, the response identified by
    /// its type, version, resource count, total size and the leading bytes (where the name is) of each resource, so
    /// 10,000 proxies cost about one set per distinct state, not a copy each.
    /// </summary>
    public HeldSet SotwHeld(HeldSet? old, int type, string version, RepeatedField<Any> resources)
    {
        long bytes = 0;
        var prefixes = new HashCode();
        foreach (var any in resources)
        {
            var value = any.Value.Span;
            bytes += value.Length;
            prefixes.AddBytes(value[..Math.Min(value.Length, 48)]);
        }

        var key = (type is XdsType.Cluster or XdsType.Listener ? null : old, type, version, resources.Count, bytes, prefixes.ToHashCode());
        return _held.GetOrAdd(key, k => new Lazy<HeldSet>(() =>
        {
            var digests = k.Old is null
                ? new Dictionary<string, string>(StringComparer.Ordinal)
                : new Dictionary<string, string>((Dictionary<string, string>)k.Old.Digests, StringComparer.Ordinal);
            foreach (var any in resources)
            {
                digests[Intern(NameOf(k.Type, any))] = Digest(any.Value.Span);
            }

            return new HeldSet(digests);
        })).Value;
    }

    private static string NameOf(int type, Any any)
    {
        try
        {
            return type switch
            {
                XdsType.Cluster => ClusterProto.Parser.ParseFrom(any.Value).Name,
                XdsType.Endpoint => Envoy.Config.Endpoint.V3.ClusterLoadAssignment.Parser.ParseFrom(any.Value).ClusterName,
                XdsType.Listener => Listener.Parser.ParseFrom(any.Value).Name,
                _ => Envoy.Config.Route.V3.RouteConfiguration.Parser.ParseFrom(any.Value).Name,
            };
        }
        catch (InvalidProtocolBufferException)
        {
            return $"(unparsable {XdsType.ShortNames[type]} resource)";
        }
    }

    public string Intern(string value) => _strings.GetOrAdd(value, value);

    /// <summary>A sorted name array shared by every caller with the same names, so that proxies subscribing to the
    /// same names hold one array (and equal names are one reference).</summary>
    public string[] InternNames(string[] names) => _nameArrays.GetOrAdd(string.Join('\n', names), names);

    /// <summary>The names a SotW Cluster or Listener response leads to (full state: every resource is in it).</summary>
    public Derived FromSotw(int type, string version, RepeatedField<Any> resources) =>
        _sotw.GetOrAdd((type, version), key => new Lazy<Derived>(() => DeriveAll(key.Type, resources.Select(r => r)))).Value;

    /// <summary>The names one delta Cluster or Listener resource leads to.</summary>
    public Derived FromDelta(int type, string name, string version, Any resource) =>
        _delta.GetOrAdd((type, name, version), _ => new Lazy<Derived>(() => DeriveAll(type, [resource]))).Value;

    /// <summary>Checks what is not parsed: every resource has the response's type URL.</summary>
    public static string? CheckTypes(int type, IEnumerable<Any> resources)
    {
        foreach (var any in resources)
        {
            if (any.TypeUrl != XdsType.Urls[type])
            {
                return $"resource of type {any.TypeUrl} in a {XdsType.ShortNames[type]} response";
            }
        }

        return null;
    }

    private Derived DeriveAll(int type, IEnumerable<Any> resources)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var any in resources)
            {
                if (any.TypeUrl != XdsType.Urls[type])
                {
                    return new Derived([], $"resource of type {any.TypeUrl} in a {XdsType.ShortNames[type]} response");
                }

                if (type == XdsType.Cluster)
                {
                    var cluster = ClusterProto.Parser.ParseFrom(any.Value);
                    if (cluster.Type == ClusterProto.Types.DiscoveryType.Eds)
                    {
                        if (cluster.EdsClusterConfig?.EdsConfig is null)
                        {
                            // As Envoy: an EDS cluster needs eds_cluster_config.eds_config.
                            return new Derived([], $"EDS cluster '{cluster.Name}' has no eds_config");
                        }

                        // "The endpoint resource of an EDS cluster is eds_cluster_config.service_name, or the cluster name."
                        var service = cluster.EdsClusterConfig?.ServiceName;
                        names.Add(Intern(string.IsNullOrEmpty(service) ? cluster.Name : service));
                    }
                }
                else
                {
                    foreach (var route in RouteNames(Listener.Parser.ParseFrom(any.Value)))
                    {
                        names.Add(Intern(route));
                    }
                }
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            return new Derived([], $"cannot parse {XdsType.ShortNames[type]} resource: {e.Message}");
        }

        return new Derived([.. names], null);
    }

    /// <summary>"A route configuration is named by the listener's HttpConnectionManager rds.route_config_name."</summary>
    private static IEnumerable<string> RouteNames(Listener listener)
    {
        var chains = listener.FilterChains.AsEnumerable();
        if (listener.DefaultFilterChain is not null)
        {
            chains = chains.Append(listener.DefaultFilterChain);
        }

        var configs = chains.SelectMany(c => c.Filters).Select(f => f.TypedConfig).Where(c => c is not null);
        if (listener.ApiListener?.ApiListener_ is { } api)
        {
            configs = configs.Append(api);
        }

        foreach (var config in configs)
        {
            if (config.Is(HttpConnectionManager.Descriptor) && config.Unpack<HttpConnectionManager>() is { Rds: { } rds })
            {
                yield return rds.RouteConfigName;
            }
        }
    }
}
