using System.Diagnostics;
using Grpc.Core;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// The stream's writer: puts one message on the wire at a time under the server's send budget (giving the budget back
/// when the client is slow to read), stops for good once the stream is revoked, and counts what it wrote (metrics,
/// log line). It writes what it is given and its stated size (the encoded size, known before writing: see
/// <see cref="Encoding.OutgoingResponse"/>), which is both what the budget is charged and what <c>bytes_sent</c> counts.
/// </summary>
/// <remarks>Thread rule: <see cref="WriteAsync"/> by the stream's loop only (one write at a time);
/// <see cref="Revoke"/> from any thread (the authorization keeper), published with Volatile.</remarks>
internal sealed class ResponseWriter<TResponse>(XdsServerCore core, long streamId, XdsProtocol protocol,
    Func<TResponse, CancellationToken, Task> write)
    where TResponse : class
{
    private RpcException? _revoked;

    /// <summary>From now on nothing more is written: every write throws <paramref name="error"/>.</summary>
    public void Revoke(RpcException error) => Volatile.Write(ref _revoked, error);

    /// <summary>Throws the revocation, if any.</summary>
    public void ThrowIfRevoked()
    {
        if (Volatile.Read(ref _revoked) is { } revoked)
        {
            throw revoked; // the credential is gone: nothing more is sent
        }
    }

    /// <summary>Writes <paramref name="message"/> (<paramref name="sizeInBytes"/> on the wire) for
    /// <paramref name="response"/> of <paramref name="type"/> with <paramref name="nonce"/>; the push latency is
    /// measured from <paramref name="changedAt"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public async ValueTask WriteAsync(ResourceType type, TResponse message, long sizeInBytes, WatchResponse response,
        string nonce, long changedAt, CancellationToken cancellationToken)
    {
        ThrowIfRevoked();
        using (var lease = await core.SendBudget.AcquireAsync(sizeInBytes, cancellationToken).ConfigureAwait(false))
        {
            ThrowIfRevoked(); // revoked while callbacks ran or the budget was awaited
            var writing = write(message, cancellationToken);
            if (!writing.IsCompleted && await Task.WhenAny(writing, core.SendBudget.SlowWriteElapsedAsync()).ConfigureAwait(false) != writing)
            {
                // The client is slow to read: stop counting this write against everyone's budget.
                lease.Dispose();
            }

            await writing.ConfigureAwait(false);
        }

        var typeTag = XdsMetrics.Type(type.ShortName);
        var protocolTag = XdsMetrics.Protocol(protocol);
        core.Metrics.Responses.Add(1, typeTag, protocolTag);
        core.Metrics.BytesSent.Add(sizeInBytes, typeTag, protocolTag);
        core.Metrics.PushLatency.Record(Stopwatch.GetElapsedTime(changedAt).TotalSeconds, typeTag, protocolTag);
        XdsLog.Sent(core.Logger, streamId, type.TypeUrl, response.Version, nonce, response.Resources.Count, response.RemovedNames.Count);
    }
}
