using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace XdsServer.Cache;

/// <summary>
/// What the caches need to know about one xDS resource type: its type URL, how to read a resource's name,
/// its state-of-the-world semantics and its place in the ADS push order.
/// </summary>
public sealed class ResourceType
{
    /// <summary>The type URL, e.g. <c>type.googleapis.com/envoy.config.cluster.v3.Cluster</c>.</summary>
    public required string TypeUrl { get; init; }

    /// <summary>A short display name, e.g. <c>Cluster</c>.</summary>
    public required string ShortName { get; init; }

    /// <summary>Reads the resource name from a message of this type.</summary>
    public required Func<IMessage, string> NameOf { get; init; }

    /// <summary>Descriptor of the message type; when set, resources are checked to be of this type.</summary>
    public MessageDescriptor? Descriptor { get; init; }

    /// <summary>
    /// True when a state-of-the-world response must carry every subscribed resource (Listener and Cluster):
    /// "the server must include the complete state of the world ... a missing one is deleted".
    /// Other types may carry only what changed; absence means nothing.
    /// </summary>
    public bool FullStateInSotw { get; init; }

    /// <summary>
    /// True when an empty first subscription means "everything" (legacy wildcard). An explicit <c>"*"</c>
    /// is honoured for every type.
    /// </summary>
    public bool SupportsLegacyWildcard { get; init; }

    /// <summary>Position in the ADS push order (lower first): secrets, then clusters and their endpoints,
    /// then listeners and their routes ("make before break").</summary>
    public int AdsOrder { get; init; }

    /// <summary>
    /// True when a resource of this type is a secret (private keys, tokens): its payload is sent only to streams
    /// authorized for it, over a confidential transport, and never appears in side channels (CSDS, REST fetch by a
    /// caller who has not proven the node, status objects, logs, exceptions). Secret is sensitive; a type of your
    /// own that carries credentials should be too.
    /// </summary>
    public bool Sensitive { get; init; }

    /// <summary>Lists the resources a message of this type refers to (computed once per resource version).</summary>
    public Func<IMessage, IReadOnlyList<ResourceReference>>? ReferencesOf { get; init; }

    /// <summary>Returns the name of <paramref name="message"/>, checking its type first.</summary>
    /// <exception cref="ArgumentException">The message is not of this type, or its name is empty.</exception>
    public string GetName(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckMessageType(message);
        var name = NameOf(message);
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException($"A {ShortName} resource must have a non-empty name.", nameof(message));
        }

        return name;
    }

    internal void CheckMessageType(IMessage message)
    {
        if (Descriptor is not null && !ReferenceEquals(message.Descriptor, Descriptor)
            && message.Descriptor.FullName != Descriptor.FullName)
        {
            throw new ArgumentException(
                $"A message of type {message.Descriptor.FullName} cannot be a {ShortName} resource ({TypeUrl}).",
                nameof(message));
        }
    }

    /// <inheritdoc />
    public override string ToString() => ShortName;
}
