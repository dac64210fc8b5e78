using Google.Protobuf;

namespace XdsServer.Cache;

/// <summary>Builds a <see cref="Snapshot"/>, from scratch or from an earlier one. Not thread-safe.</summary>
public sealed class SnapshotBuilder
{
    private readonly Snapshot _origin;
    private readonly Dictionary<string, ResourceSetBuilder> _builders = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removedTypes = new(StringComparer.Ordinal);

    internal SnapshotBuilder(Snapshot origin) => _origin = origin;

    /// <summary>The registry of the types the snapshot may hold.</summary>
    public ResourceTypeRegistry Registry => _origin.Registry;

    /// <summary>The builder of one type's set (created on first use, so the snapshot then carries the type).</summary>
    /// <exception cref="ArgumentException">The type URL is not in the registry.</exception>
    public ResourceSetBuilder For(string typeUrl)
    {
        if (!_builders.TryGetValue(typeUrl, out var builder))
        {
            var type = Registry.Get(typeUrl);
            builder = (_origin.GetResources(typeUrl) ?? ResourceSet.Empty(type)).ToBuilder();
            _builders.Add(typeUrl, builder);
            _removedTypes.Remove(typeUrl);
        }

        return builder;
    }

    /// <summary>Adds a new resource given as a message; its type comes from the message.</summary>
    /// <exception cref="InvalidOperationException">A resource of that type and name is already present.</exception>
    public SnapshotBuilder Add(IMessage message)
    {
        var resource = XdsResource.Create(message, registry: Registry);
        For(resource.TypeUrl).Add(resource);
        return this;
    }

    /// <summary>Adds several new resources given as messages.</summary>
    public SnapshotBuilder Add(params IEnumerable<IMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            Add(message);
        }

        return this;
    }

    /// <summary>Adds a new resource.</summary>
    /// <exception cref="InvalidOperationException">A resource of that type and name is already present.</exception>
    public SnapshotBuilder Add(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        For(resource.TypeUrl).Add(resource);
        return this;
    }

    /// <summary>Adds or replaces a resource given as a message. Passing the same message object that the
    /// snapshot already holds costs nothing: no serialization, no hashing.</summary>
    public SnapshotBuilder Set(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        For(Registry.GetFor(message).TypeUrl).Set(message);
        return this;
    }

    /// <summary>Adds or replaces a resource.</summary>
    public SnapshotBuilder Set(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        For(resource.TypeUrl).Set(resource);
        return this;
    }

    /// <summary>Removes a resource; returns false when there was none.</summary>
    public bool Remove(string typeUrl, string name) => For(typeUrl).Remove(name);

    /// <summary>Makes the snapshot carry <paramref name="typeUrl"/> even with no resources (served as empty).</summary>
    public SnapshotBuilder Include(string typeUrl)
    {
        For(typeUrl);
        return this;
    }

    /// <summary>Stops carrying a type at all: its watches will wait until a later snapshot carries it.</summary>
    public SnapshotBuilder Exclude(string typeUrl)
    {
        _builders.Remove(typeUrl);
        _removedTypes.Add(typeUrl);
        return this;
    }

    /// <summary>Sets an explicit version for one type; null derives it from the content.</summary>
    public SnapshotBuilder SetVersion(string typeUrl, string? version)
    {
        For(typeUrl).SetVersion(version);
        return this;
    }

    /// <summary>Builds the snapshot. Types left untouched keep their exact <see cref="ResourceSet"/>.</summary>
    public Snapshot Build()
    {
        var sets = new Dictionary<string, ResourceSet>(StringComparer.Ordinal);
        foreach (var set in _origin.ResourceSets)
        {
            if (!_removedTypes.Contains(set.TypeUrl))
            {
                sets[set.TypeUrl] = set;
            }
        }

        foreach (var (typeUrl, builder) in _builders)
        {
            sets[typeUrl] = builder.Build();
        }

        return new Snapshot(Registry, sets.Values);
    }
}
