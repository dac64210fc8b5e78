using System.Buffers;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// What a stream writes: a watch answer with the stream's nonce, as a shared <see cref="EncodedBody"/> plus the
/// nonce field, or — when nothing is shared — as the message itself. Its encoded size is known before it is
/// written (<see cref="Size"/>), so neither gRPC's framing nor the <c>bytes_sent</c> metric walks the message.
/// </summary>
internal sealed class OutgoingResponse
{
    /// <summary>The tag of <c>nonce</c>: field 5, length-delimited, in both response messages.</summary>
    private const byte NonceTag = (5 << 3) | 2;

    private readonly EncodedBody? _body;
    private readonly IMessage? _message;

    private OutgoingResponse(WatchResponse source, string nonce, EncodedBody? body, IMessage? message, int size)
    {
        Source = source;
        Nonce = nonce;
        _body = body;
        _message = message;
        Size = size;
    }

    /// <summary>The watch answer this response carries.</summary>
    public WatchResponse Source { get; }

    /// <summary>The stream's nonce for it.</summary>
    public string Nonce { get; }

    /// <summary>The exact encoded size in bytes (the gRPC payload, without the 5-byte frame header).</summary>
    public int Size { get; }

    /// <summary>True when the body is shared with other streams (written from cached bytes).</summary>
    public bool IsShared => _body is not null;

    /// <summary>A response written as <paramref name="body"/> plus the nonce field.</summary>
    public static OutgoingResponse Shared(WatchResponse source, string nonce, EncodedBody body) =>
        new(source, nonce, body, null, body.Length + NonceFieldSize(nonce));

    /// <summary>A response encoded for this stream alone: the message, written straight into gRPC's buffer (no
    /// intermediate array), its size computed once here.</summary>
    public static OutgoingResponse Single(WatchResponse source, string nonce)
    {
        var message = CreateMessage(source, nonce);
        return new(source, nonce, null, message, message.CalculateSize());
    }

    /// <summary>The response as a message, for <see cref="IXdsCallbacks.OnResponseAsync"/> (built on demand when it was
    /// not built to be written).</summary>
    public IMessage ToMessage() => _message ?? CreateMessage(Source, Nonce);

    /// <summary>Writes the <see cref="Size"/> bytes of the response.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        if (_message is not null)
        {
            _message.WriteTo(output);
            return;
        }

        Copy(_body!.Prefix, output);
        WriteNonce(Nonce, output);
        Copy(_body.Suffix, output);
    }

    private static IMessage CreateMessage(WatchResponse source, string nonce) =>
        source.IsDelta ? DeltaStream.CreateResponse(source, nonce) : SotwStream.CreateResponse(source, nonce);

    /// <summary>proto3 does not encode an empty string; nonces are never empty, but the bytes stay canonical.</summary>
    private static int NonceFieldSize(string nonce) => nonce.Length == 0 ? 0 : 1 + CodedOutputStream.ComputeStringSize(nonce);

    private static void WriteNonce(string nonce, IBufferWriter<byte> output)
    {
        if (nonce.Length == 0)
        {
            return;
        }

        var length = System.Text.Encoding.UTF8.GetByteCount(nonce);
        var span = output.GetSpan(NonceFieldSize(nonce));
        span[0] = NonceTag;
        var at = 1;
        for (var rest = (uint)length; ; rest >>= 7)
        {
            if (rest < 0x80)
            {
                span[at++] = (byte)rest;
                break;
            }

            span[at++] = (byte)(rest | 0x80);
        }

        at += System.Text.Encoding.UTF8.GetBytes(nonce, span[at..]);
        output.Advance(at);
    }

    /// <summary>Copies in the writer's own chunk sizes: asking for one span of a whole large body would make a pipe
    /// allocate a block that size.</summary>
    private static void Copy(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        while (bytes.Length > 0)
        {
            var span = output.GetSpan();
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            output.Advance(n);
            bytes = bytes[n..];
        }
    }
}
