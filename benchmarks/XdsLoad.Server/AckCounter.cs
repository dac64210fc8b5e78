using Google.Protobuf;
using XdsServer;

namespace XdsLoad.Server;

/// <summary>Counts ACKs and NACKs on every stream (server side), and open streams, for <c>GET /stats</c>.</summary>
internal sealed class AckCounter : IXdsCallbacks
{
    private long _acks;
    private long _nacks;
    private int _open;
    private string? _lastNack;

    public long Acks => Interlocked.Read(ref _acks);

    public long Nacks => Interlocked.Read(ref _nacks);

    public string? LastNackError => Volatile.Read(ref _lastNack);

    public int OpenStreams => Volatile.Read(ref _open);

    public ValueTask OnStreamOpenedAsync(XdsStreamContext stream, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _open);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnStreamClosedAsync(XdsStreamContext stream)
    {
        Interlocked.Decrement(ref _open);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnAckAsync(XdsStreamContext stream, string typeUrl, string version, string nonce)
    {
        Interlocked.Increment(ref _acks);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnNackAsync(XdsStreamContext stream, string typeUrl, string nonce, Google.Rpc.Status errorDetail)
    {
        Interlocked.Increment(ref _nacks);
        Volatile.Write(ref _lastNack, $"{typeUrl}: {errorDetail.Message}");
        return ValueTask.CompletedTask;
    }
}
