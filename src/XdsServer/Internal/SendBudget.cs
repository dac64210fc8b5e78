namespace XdsServer.Internal;

/// <summary>
/// Bounds the response bytes all streams are writing at once. gRPC serializes a whole response into the
/// stream's transport buffer before the client has read any of it, so when thousands of proxies connect at
/// once and the clients read more slowly than the server serializes, every stream would buffer its complete
/// initial configuration (hundreds of KB each, GBs in all). With the budget a stream first waits for its
/// response's size to be free (FIFO), and gives it back when the write completes.
/// </summary>
/// <remarks>
/// A client that stops reading must not hold the budget (that would let a few stalled proxies stop everyone):
/// a write not complete after <see cref="SlowWrite"/> stops counting. Its bytes then stay that stream's own,
/// bounded as every stream's are (one write in flight, at most one pending answer per type). A response larger
/// than the whole budget waits until nothing else is counted, then goes alone.
/// </remarks>
internal sealed class SendBudget : IDisposable
{
    /// <summary>A write counts against the budget until it completes or, at most, between one and two of these.</summary>
    public static readonly TimeSpan SlowWrite = TimeSpan.FromSeconds(1);

    // One clock per budget for every slow write instead of a timer per write (thousands of writes wait at once in a
    // burst, and timers contend on the timer queue). It comes from the host's TimeProvider and dies with the budget:
    // two hosts in one process share nothing. Thread rule: _tick is replaced only by the timer callback (Volatile),
    // and a tick links its successor before it completes, so a waiter can always reach the next one.
    private readonly ITimer _timer;
    private Tick _tick = new();

    private readonly Lock _lock = new();
    private readonly Queue<Waiter> _waiters = new();
    private readonly long _capacity;
    private long _available;

    public SendBudget(long capacity, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentNullException.ThrowIfNull(time);
        _capacity = capacity;
        _available = capacity;
        _timer = time.CreateTimer(static state => ((SendBudget)state!).OnTick(), this, SlowWrite, SlowWrite);
    }

    /// <summary>Bytes counted now (for tests and metrics).</summary>
    public long InFlight
    {
        get
        {
            lock (_lock)
            {
                return _capacity - _available;
            }
        }
    }

    /// <summary>Completes after one to two <see cref="SlowWrite"/> periods: the next tick and then one more.</summary>
    public async Task SlowWriteElapsedAsync()
    {
        var next = Volatile.Read(ref _tick);
        await next.Done.Task.ConfigureAwait(false);
        await next.Following!.Done.Task.ConfigureAwait(false);
    }

    /// <summary>Stops the tick timer (the server core is disposed with its host).</summary>
    public void Dispose() => _timer.Dispose();

    private void OnTick()
    {
        var fresh = new Tick();
        var done = Interlocked.Exchange(ref _tick, fresh);
        done.Following = fresh; // before completing: a waiter woken by this tick reads its successor
        done.Done.TrySetResult();
    }

    /// <summary>Waits until <paramref name="bytes"/> (capped at the capacity) are free and takes them; dispose
    /// the lease to give them back (once only).</summary>
    public ValueTask<Lease> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        var amount = Math.Clamp(bytes, 1, _capacity);
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _available >= amount)
            {
                _available -= amount;
                return ValueTask.FromResult(new Lease(this, amount));
            }

            waiter = new Waiter(amount);
            _waiters.Enqueue(waiter);
        }

        return WaitAsync(waiter, cancellationToken);
    }

    private async ValueTask<Lease> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        // A cancelled waiter is skipped (and never charged) when its turn comes; one granted first is not cancelled.
        using (cancellationToken.UnsafeRegister(static state => ((Waiter)state!).Cancel(), waiter))
        {
            await waiter.Granted.Task.ConfigureAwait(false);
        }

        return new Lease(this, waiter.Amount);
    }

    private void Give(long amount)
    {
        lock (_lock)
        {
            Release(amount);
        }
    }

    private void Release(long amount)
    {
        _available += amount;
        while (_waiters.TryPeek(out var next))
        {
            if (next.Granted.Task.IsCompleted)
            {
                _waiters.Dequeue(); // cancelled
                continue;
            }

            if (next.Amount > _available)
            {
                break; // FIFO: nobody overtakes a large response
            }

            _waiters.Dequeue();
            if (next.Granted.TrySetResult())
            {
                _available -= next.Amount;
            }
        }
    }

    /// <summary>Bytes taken from the budget; disposing returns them once.</summary>
    internal sealed class Lease(SendBudget budget, long amount) : IDisposable
    {
        private int _returned;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                budget.Give(amount);
            }
        }
    }

    private sealed class Waiter(long amount)
    {
        public long Amount { get; } = amount;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Cancel() => Granted.TrySetCanceled();
    }

    private sealed class Tick
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The tick after this one, set before <see cref="Done"/> completes.</summary>
        public Tick? Following { get; set; }
    }
}
