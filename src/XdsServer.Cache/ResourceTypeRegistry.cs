using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;

namespace XdsServer.Cache;

/// <summary>An immutable set of known resource types, looked up by type URL.</summary>
public sealed class ResourceTypeRegistry
{
    private readonly FrozenDictionary<string, ResourceType> _byUrl;

    /// <summary>The Envoy v3 types of <see cref="EnvoyResourceTypes"/>.</summary>
    public static ResourceTypeRegistry Default { get; } = new(EnvoyResourceTypes.All);

    /// <summary>Creates a registry of <paramref name="types"/>.</summary>
    /// <exception cref="ArgumentException">Two types share a type URL.</exception>
    public ResourceTypeRegistry(IEnumerable<ResourceType> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        var map = new Dictionary<string, ResourceType>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (!map.TryAdd(type.TypeUrl, type))
            {
                throw new ArgumentException($"Resource type {type.TypeUrl} is registered twice.", nameof(types));
            }
        }

        _byUrl = map.ToFrozenDictionary(StringComparer.Ordinal);
        Types = [.. map.Values.OrderBy(t => t.AdsOrder).ThenBy(t => t.TypeUrl, StringComparer.Ordinal)];
    }

    /// <summary>The registered types in ADS order.</summary>
    public IReadOnlyList<ResourceType> Types { get; }

    /// <summary>Returns a registry with <paramref name="type"/> added (or replacing the type of the same URL).</summary>
    public ResourceTypeRegistry With(ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return new ResourceTypeRegistry(Types.Where(t => t.TypeUrl != type.TypeUrl).Append(type));
    }

    /// <summary>Looks a type up by its URL.</summary>
    public bool TryGet(string typeUrl, [MaybeNullWhen(false)] out ResourceType type) =>
        _byUrl.TryGetValue(typeUrl ?? string.Empty, out type);

    /// <summary>Returns the type of <paramref name="typeUrl"/>.</summary>
    /// <exception cref="ArgumentException">The type URL is not registered.</exception>
    public ResourceType Get(string typeUrl) => TryGet(typeUrl, out var type)
        ? type
        : throw new ArgumentException($"Unknown resource type URL '{typeUrl}'.", nameof(typeUrl));

    /// <summary>Returns the type of a message, by its protobuf full name.</summary>
    /// <exception cref="ArgumentException">The message's type is not registered.</exception>
    public ResourceType GetFor(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Get(TypeUrls.Prefix + message.Descriptor.FullName);
    }
}
