using System.Buffers;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// A delta request as the server reads it: the message, and, for a large request, its <c>resource_names_subscribe</c>
/// and <c>initial_resource_versions</c> kept as the bytes they arrived in, with their digests, instead of parsed into
/// the message. A reconnecting sidecar lists thousands of names and name → version pairs; parsing them is a string or
/// two and a map node each, for 10,000 proxies tens of millions of objects, while a client that is up to date needs
/// none of them: the digests tell (<see cref="ClientState.TryResumeDelta(ResourceNamesDigest, ResourceVersionsDigest, ResourceSet)"/>).
/// <see cref="MaterializeNames"/> and <see cref="MaterializeVersions"/> parse them into the message when they must be
/// read one by one, or shown to a callback; a malformed record throws <see cref="InvalidProtocolBufferException"/> then.
/// </summary>
/// <remarks>Thread rule: made by the marshaller on gRPC's reader, then used by the stream's loop alone. The bytes are
/// in a buffer from <see cref="ArrayPool{T}.Shared"/>, returned by <see cref="Release"/> (or once both kinds are
/// parsed).</remarks>
internal sealed class DeltaRequest
{
    private byte[]? _buffer;
    private Range[] _nameRecords;
    private Range[] _versionRecords;

    public DeltaRequest(DeltaDiscoveryRequest message)
        : this(message, null, [], null, [], null)
    {
    }

    public DeltaRequest(DeltaDiscoveryRequest message, byte[]? buffer, Range[] nameRecords, ResourceNamesDigest? names,
        Range[] versionRecords, ResourceVersionsDigest? versions)
    {
        Message = message;
        _buffer = buffer;
        _nameRecords = nameRecords;
        _versionRecords = versionRecords;
        PendingNames = names;
        PendingVersions = versions;
    }

    /// <summary>The request; its <c>resource_names_subscribe</c> and <c>initial_resource_versions</c> are empty while
    /// <see cref="PendingNames"/> and <see cref="PendingVersions"/> stand for them.</summary>
    public DeltaDiscoveryRequest Message { get; }

    /// <summary>The digest of the request's <c>resource_names_subscribe</c>, while they are kept as bytes.</summary>
    public ResourceNamesDigest? PendingNames { get; private set; }

    /// <summary>The digest of the request's <c>initial_resource_versions</c>, while they are kept as bytes.</summary>
    public ResourceVersionsDigest? PendingVersions { get; private set; }

    /// <summary>The number of names in <c>resource_names_subscribe</c>.</summary>
    public int SubscribeCount => PendingNames?.Count ?? Message.ResourceNamesSubscribe.Count;

    /// <summary>The number of entries in <c>initial_resource_versions</c> (as listed: a name listed twice counts twice
    /// until parsed).</summary>
    public int InitialVersionCount => PendingVersions?.Count ?? Message.InitialResourceVersions.Count;

    /// <summary>Parses the kept names into <see cref="Message"/>, exactly as the generated parser would have.</summary>
    public void MaterializeNames()
    {
        if (PendingNames is null)
        {
            return;
        }

        PendingNames = null;
        MergeAndRelease(ref _nameRecords);
    }

    /// <summary>Parses the kept versions into <see cref="Message"/>, exactly as the generated parser would have.</summary>
    public void MaterializeVersions()
    {
        if (PendingVersions is null)
        {
            return;
        }

        PendingVersions = null;
        MergeAndRelease(ref _versionRecords);
    }

    /// <summary>Parses everything kept (a callback sees the whole request).</summary>
    public void Materialize()
    {
        MaterializeNames();
        MaterializeVersions();
    }

    /// <summary>Lets the kept bytes go (the request has been applied).</summary>
    public void Release()
    {
        PendingNames = null;
        PendingVersions = null;
        _nameRecords = [];
        _versionRecords = [];
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void MergeAndRelease(ref Range[] records)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(DeltaRequest));
        var merge = records;
        records = [];
        try
        {
            foreach (var range in merge)
            {
                Message.MergeFrom(buffer.AsSpan(range));
            }
        }
        finally
        {
            if (PendingNames is null && PendingVersions is null)
            {
                Release();
            }
        }
    }
}
