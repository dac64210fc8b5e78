using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache.Internal;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace XdsServer.Cache;

/// <summary>
/// One version of one named xDS resource, serialized once. Every response that carries it, on every
/// stream, sends these same bytes: there is no per-stream or per-watch re-encoding.
/// </summary>
/// <remarks>
/// The resource takes its bytes when it is created: the message must not be changed afterwards (build a new
/// message for a new version). Instances are immutable and safe to share between threads.
/// </remarks>
public sealed class XdsResource
{
    private Any? _packed;
    private DeltaResource? _deltaResource;
    private IReadOnlyList<ResourceReference>? _references;
    private string? _referenceError;
    private ulong _entryHash;
    private bool _entryHashSet;

    private XdsResource(ResourceType type, string name, IMessage message, string? explicitVersion)
    {
        if (explicitVersion is { Length: 0 })
        {
            throw new ArgumentException("An explicit resource version must not be empty.", nameof(explicitVersion));
        }

        Type = type;
        Name = name;
        Message = message;
        Bytes = UnsafeByteOperations.UnsafeWrap(message.ToByteArray());
        Digest = ContentDigest.Compute(name, Bytes, explicitVersion);
        Version = explicitVersion ?? ContentDigest.Format(Digest);
    }

    /// <summary>Creates a resource of a registered type, taking its type from the message and its name
    /// from the type's name accessor; the version is derived from the content unless given.</summary>
    /// <exception cref="ArgumentException">The message type is not registered, or the name is empty.</exception>
    public static XdsResource Create(IMessage message, string? version = null, ResourceTypeRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = (registry ?? ResourceTypeRegistry.Default).GetFor(message);
        return new XdsResource(type, type.GetName(message), message, version);
    }

    /// <summary>Creates a resource of <paramref name="type"/>; the name is read from the message.</summary>
    /// <exception cref="ArgumentException">The message is not of the type, or its name is empty.</exception>
    public static XdsResource Create(ResourceType type, IMessage message, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        return new XdsResource(type, type.GetName(message), message, version);
    }

    /// <summary>Creates a resource of <paramref name="type"/> under an explicit name.</summary>
    /// <exception cref="ArgumentException">The message is not of the type, or the name is empty.</exception>
    public static XdsResource Create(ResourceType type, string name, IMessage message, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(name);
        type.CheckMessageType(message);
        return new XdsResource(type, name, message, version);
    }

    /// <summary>The resource type.</summary>
    public ResourceType Type { get; }

    /// <summary>The type URL.</summary>
    public string TypeUrl => Type.TypeUrl;

    /// <summary>The resource name.</summary>
    public string Name { get; }

    /// <summary>The resource version: 16 hex digits of a SHA-256 content digest, or the version given at
    /// creation. Equal content under the same name always has the same derived version, across restarts.</summary>
    public string Version { get; }

    /// <summary>The message. Do not modify it.</summary>
    public IMessage Message { get; }

    /// <summary>The serialized message, produced once at creation.</summary>
    public ByteString Bytes { get; }

    /// <summary>The 64-bit content digest behind <see cref="Version"/>.</summary>
    internal ulong Digest { get; }

    /// <summary>The hash of this name and version as a delta client lists them (<see cref="ResourceVersionsDigest"/>),
    /// computed once.</summary>
    internal ulong EntryHash
    {
        get
        {
            if (Volatile.Read(ref _entryHashSet))
            {
                return _entryHash;
            }

            // Two threads may both compute it: the same value, written before the flag that publishes it.
            _entryHash = ResourceVersionsDigest.HashOf(Name, Version);
            Volatile.Write(ref _entryHashSet, true);
            return _entryHash;
        }
    }

    /// <summary>
    /// The resource packed in an <c>Any</c>, for state-of-the-world responses. One shared instance per
    /// resource version: add it to responses, never modify it.
    /// </summary>
    public Any Packed => _packed ?? Interlocked.CompareExchange(ref _packed, new Any { TypeUrl = TypeUrl, Value = Bytes }, null) ?? _packed;

    /// <summary>
    /// The resource wrapped for delta responses (name, version, resource). One shared instance per resource
    /// version: add it to responses, never modify it.
    /// </summary>
    public DeltaResource DeltaResource => _deltaResource
        ?? Interlocked.CompareExchange(ref _deltaResource, new DeltaResource { Name = Name, Version = Version, Resource_ = Packed }, null)
        ?? _deltaResource;

    /// <summary>The resources this one refers to (empty for types without references). Computed once.</summary>
    public IReadOnlyList<ResourceReference> References
    {
        get
        {
            EnsureReferences();
            return _references!;
        }
    }

    /// <summary>Why <see cref="References"/> could not be read (an embedded config failed to parse), or null.</summary>
    public string? ReferenceError
    {
        get
        {
            EnsureReferences();
            return _referenceError;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type.ShortName} '{Name}' v{Version}";

    private void EnsureReferences()
    {
        if (Volatile.Read(ref _references) is not null)
        {
            return;
        }

        IReadOnlyList<ResourceReference> refs;
        string? error = null;
        try
        {
            refs = Type.ReferencesOf?.Invoke(Message) ?? [];
        }
        catch (Exception e) when (e is InvalidDataException or InvalidProtocolBufferException)
        {
            refs = [];
            error = e.Message;
        }

        _referenceError = error;
        Volatile.Write(ref _references, refs);
    }
}
