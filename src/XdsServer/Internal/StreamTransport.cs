using System.Threading.Channels;
using Grpc.Core;

namespace XdsServer.Internal;

/// <summary>
/// The transport adapter of a stream, and the only part that knows gRPC's reader and writer: it reads requests into a
/// bounded queue (at most <see cref="XdsServerOptions.MaxQueuedRequestsPerStream"/> wait for the loop; then it stops
/// reading, which is the client's back-pressure) and writes messages.
/// </summary>
/// <remarks>Thread rule: the read task is the queue's only writer and the stream's loop its only reader;
/// <see cref="WriteAsync"/> is called by the stream's writer only, one write at a time.</remarks>
internal sealed class StreamTransport<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    private readonly IAsyncStreamReader<TRequest> _requests;
    private readonly IServerStreamWriter<TResponse> _responses;
    private readonly Channel<TRequest> _queue;
    private readonly WakeSignal _wake;

    // Room in the queue: set by the loop when it takes a request from a full queue, awaited by the read task alone.
    private readonly WakeSignal _room = new();
    private readonly int _maxQueued;

    // Requests queued and not taken yet: incremented by the read task, decremented by the loop (Interlocked).
    private int _queued;
    private Task? _reading;

    public StreamTransport(IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses,
        int maxQueued, WakeSignal wake)
    {
        _requests = requests;
        _responses = responses;
        _wake = wake;
        _maxQueued = maxQueued;
        // Unbounded, with the bound kept by the count below: the loop's TryRead is then lock-free (a bounded channel
        // takes a lock on every read and write, and the reader and the loop of each stream contended for it at
        // 10,000 streams). The read task writes at most one request past the bound check, so the bound holds.
        _queue = Channel.CreateUnbounded<TRequest>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    }

    /// <summary>The queued requests, for the stream's loop: take them with <see cref="TryRead"/> (which keeps the count);
    /// completed when the client half-closes, with the error when reading failed or the stream was ended
    /// (<see cref="End"/>).</summary>
    public ChannelReader<TRequest> Requests => _queue.Reader;

    /// <summary>Takes the next queued request, if any (the loop only); makes room for the read task.</summary>
    public bool TryRead([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TRequest request)
    {
        if (!_queue.Reader.TryRead(out request))
        {
            return false;
        }

        if (Interlocked.Decrement(ref _queued) == _maxQueued - 1)
        {
            _room.Set(); // the queue was full: the read task may be waiting
        }

        return true;
    }

    /// <summary>Reads the stream's first request (before the queue runs); null when the client closed at once.</summary>
    public async Task<TRequest?> ReadFirstAsync(CancellationToken cancellationToken) =>
        await _requests.MoveNext(cancellationToken).ConfigureAwait(false) ? _requests.Current : null;

    /// <summary>Starts reading the rest into the queue until the client half-closes or <paramref name="ended"/>.</summary>
    public void StartReading(CancellationToken ended) => _reading = ReadAsync(ended);

    /// <summary>Ends the queue with <paramref name="error"/> (null: a normal end) and wakes the loop.</summary>
    public void End(Exception? error = null)
    {
        _queue.Writer.TryComplete(error);
        _wake.Set();
    }

    /// <summary>Waits for the read task. The handler must not return before it: Kestrel reuses the request's body
    /// reader for the connection's next call, and a read left running would fail that call ("Error reading message").</summary>
    public Task StopAsync() => _reading ?? Task.CompletedTask;

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken) =>
        _responses.WriteAsync(message, cancellationToken);

    private async Task ReadAsync(CancellationToken ended)
    {
        try
        {
            using var wakeOnEnd = ended.UnsafeRegister(static room => ((WakeSignal)room!).Set(), _room);
            while (true)
            {
                // Reads nothing more while the queue is full: the client's back-pressure.
                while (Volatile.Read(ref _queued) >= _maxQueued)
                {
                    await _room.WaitAsync().ConfigureAwait(false);
                    ended.ThrowIfCancellationRequested();
                }

                if (!await _requests.MoveNext(ended).ConfigureAwait(false))
                {
                    break;
                }

                Interlocked.Increment(ref _queued);
                _queue.Writer.TryWrite(_requests.Current); // unbounded: always succeeds until completed
                _wake.Set();
            }

            End();
        }
        catch (Exception e)
        {
            End(e);
        }
    }
}
