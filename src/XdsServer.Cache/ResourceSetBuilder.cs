using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using XdsServer.Cache.Internal;

namespace XdsServer.Cache;

/// <summary>
/// Builds a <see cref="ResourceSet"/> from an earlier one by changing only some resources. Cost is
/// proportional to what changes: unchanged resources are neither copied, serialized nor hashed again.
/// Not thread-safe.
/// </summary>
public sealed class ResourceSetBuilder
{
    private ResourceSet _origin;
    private ImmutableDictionary<string, XdsResource>.Builder _items;
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private ulong _digestSum;
    private string? _version;

    internal ResourceSetBuilder(ResourceSet origin)
    {
        _origin = origin;
        _items = origin.Items.ToBuilder();
        _digestSum = origin.DigestSum;
    }

    /// <summary>The resource type.</summary>
    public ResourceType Type => _origin.Type;

    /// <summary>Number of resources the set will hold.</summary>
    public int Count => _items.Count;

    /// <summary>Looks a resource up by name.</summary>
    public bool TryGet(string name, [MaybeNullWhen(false)] out XdsResource resource) => _items.TryGetValue(name, out resource);

    /// <summary>Adds or replaces a resource. A resource equal in version to the one it replaces changes nothing.</summary>
    /// <exception cref="ArgumentException">The resource is of another type.</exception>
    public ResourceSetBuilder Set(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        CheckType(resource);
        if (_items.TryGetValue(resource.Name, out var existing))
        {
            if (ReferenceEquals(existing, resource) || existing.Version == resource.Version)
            {
                return this;
            }

            _digestSum = unchecked(_digestSum - existing.Digest);
        }

        _items[resource.Name] = resource;
        _digestSum = unchecked(_digestSum + resource.Digest);
        _changed.Add(resource.Name);
        return this;
    }

    /// <summary>Adds or replaces a resource given as a message. When the message is the very object already
    /// held under its name, nothing is serialized or hashed.</summary>
    /// <exception cref="ArgumentException">The message is of another type or has no name.</exception>
    public ResourceSetBuilder Set(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var name = Type.GetName(message);
        if (_items.TryGetValue(name, out var existing) && ReferenceEquals(existing.Message, message))
        {
            return this;
        }

        return Set(XdsResource.Create(Type, name, message));
    }

    /// <summary>Adds a resource whose name is not yet in the set.</summary>
    /// <exception cref="InvalidOperationException">A resource of that name is already in the set.</exception>
    public ResourceSetBuilder Add(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (_items.ContainsKey(resource.Name))
        {
            throw new InvalidOperationException($"{Type.ShortName} '{resource.Name}' is added twice; use Set to replace a resource.");
        }

        return Set(resource);
    }

    /// <summary>Removes a resource; returns false when there was none of that name.</summary>
    public bool Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_items.TryGetValue(name, out var existing))
        {
            return false;
        }

        _items.Remove(name);
        _digestSum = unchecked(_digestSum - existing.Digest);
        _changed.Add(name);
        return true;
    }

    /// <summary>Removes every resource.</summary>
    public ResourceSetBuilder Clear()
    {
        foreach (var name in _items.Keys.ToList())
        {
            Remove(name);
        }

        return this;
    }

    /// <summary>Sets an explicit type version for the next <see cref="Build"/>; null derives it from the content.</summary>
    /// <exception cref="ArgumentException">The version is empty.</exception>
    public ResourceSetBuilder SetVersion(string? version)
    {
        if (version is { Length: 0 })
        {
            throw new ArgumentException("A type version must not be empty; pass null to derive it from the content.", nameof(version));
        }

        _version = version;
        return this;
    }

    /// <summary>
    /// Builds the set. Returns the set this builder started from when nothing changed (same reference), so
    /// an unchanged type costs nothing downstream. The builder can go on from the built set.
    /// </summary>
    public ResourceSet Build()
    {
        if (_changed.Count == 0 && _version == _origin.ExplicitVersion)
        {
            return _origin;
        }

        var items = _items.ToImmutable();
        // Large changes are recorded as "large": whoever asks across them compares sets in full, which
        // costs no more than the change itself.
        var changedNames = _changed.Count <= ChangeHistory.MaxNamesPerEntry
            && (_changed.Count <= 64 || _changed.Count <= items.Count / 2)
            ? _changed.ToArray()
            : null;

        var history = _origin.History;
        if (!history.TryAppend(_origin.Generation, changedNames, out var generation))
        {
            // The origin is no longer the newest of its lineage (a branch): start a new lineage.
            history = new ChangeHistory();
            generation = 0;
        }

        var built = new ResourceSet(Type, items, _digestSum, _version, history, generation);
        _origin = built;
        _items = items.ToBuilder();
        _changed.Clear();
        return built;
    }

    private void CheckType(XdsResource resource)
    {
        if (resource.TypeUrl != Type.TypeUrl)
        {
            throw new ArgumentException(
                $"{resource} cannot go into a set of {Type.ShortName} resources ({Type.TypeUrl}).", nameof(resource));
        }
    }
}
