using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// A delta request as the server reads it: the message, and, for a large request, its <c>initial_resource_versions</c>
/// kept as the bytes they arrived in (<see cref="WireResourceVersions"/>) instead of parsed into the message's map.
/// A reconnecting sidecar lists thousands of name → version pairs; parsing them is two strings and a map node each,
/// for 10,000 proxies tens of millions of objects, while a client that is up to date needs none of them: the digest
/// of the bytes tells (<see cref="ClientState.TryResumeDelta"/>). <see cref="Materialize"/> parses them into the
/// message when they must be read one by one, or shown to a callback.
/// </summary>
/// <remarks>Thread rule: made by the marshaller on gRPC's reader, then used by the stream's loop alone.</remarks>
internal sealed class DeltaRequest
{
    public DeltaRequest(DeltaDiscoveryRequest message, WireResourceVersions? initialVersions = null)
    {
        Message = message;
        InitialVersions = initialVersions;
    }

    /// <summary>The request; its <c>initial_resource_versions</c> are empty while <see cref="InitialVersions"/> holds them.</summary>
    public DeltaDiscoveryRequest Message { get; }

    /// <summary>The request's <c>initial_resource_versions</c> as they arrived, until <see cref="Materialize"/>.</summary>
    public WireResourceVersions? InitialVersions { get; private set; }

    /// <summary>The number of entries in <c>initial_resource_versions</c> (as listed: a name listed twice counts twice
    /// until parsed).</summary>
    public int InitialVersionCount => InitialVersions?.Count ?? Message.InitialResourceVersions.Count;

    /// <summary>Parses the kept versions into <see cref="Message"/>, exactly as the generated parser would have, and
    /// lets their bytes go. Malformed entries throw <see cref="InvalidProtocolBufferException"/> here.</summary>
    public void Materialize()
    {
        if (InitialVersions is not { } versions)
        {
            return;
        }

        InitialVersions = null;
        try
        {
            versions.MergeInto(Message);
        }
        finally
        {
            versions.Release();
        }
    }

    /// <summary>Lets the kept bytes go (the request has been applied).</summary>
    public void Release()
    {
        InitialVersions?.Release();
        InitialVersions = null;
    }
}

/// <summary>
/// A request's <c>initial_resource_versions</c> as they arrived: the request's bytes, where the field's records (tag,
/// length, map entry) are, and the digest of their entries. The records on their own are a valid encoding of a
/// request carrying only that field. The bytes are in a buffer from <see cref="ArrayPool{T}.Shared"/>, returned by
/// <see cref="Release"/>.
/// </summary>
internal sealed class WireResourceVersions
{
    private readonly Range[] _records;
    private byte[]? _buffer;

    public WireResourceVersions(byte[] buffer, Range[] records, ResourceVersionsDigest digest)
    {
        _buffer = buffer;
        _records = records;
        Digest = digest;
    }

    /// <summary>Entries listed.</summary>
    public int Count => Digest.Count;

    /// <summary>The digest of the entries (<see cref="ResourceVersionsDigest.AddEncodedEntry"/>).</summary>
    public ResourceVersionsDigest Digest { get; }

    /// <summary>Parses the records into <paramref name="message"/>.</summary>
    public void MergeInto(DeltaDiscoveryRequest message)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(WireResourceVersions));
        foreach (var records in _records)
        {
            message.MergeFrom(buffer.AsSpan(records));
        }
    }

    public void Release()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
