namespace XdsServer.Internal;

/// <summary>
/// An auto-reset async signal: "the stream's loop has something to look at" (a request queued, a watch answered, the
/// stream revoked). Any number of <see cref="Set"/> calls before the loop waits wake it once; what woke it is found
/// in the request queue and the per-type mailboxes, never in the signal.
/// </summary>
/// <remarks>Thread rule: <see cref="Set"/> from any thread; <see cref="WaitAsync"/> by one waiter at a time (the
/// stream's loop). <c>_signaled</c> and <c>_waiter</c> only under <c>_gate</c>.</remarks>
internal sealed class WakeSignal
{
    private readonly Lock _gate = new();
    private bool _signaled;
    private TaskCompletionSource? _waiter;

    /// <summary>Wakes the waiter, or the next one if nobody waits now.</summary>
    public void Set()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            waiter = _waiter;
            _waiter = null;
            _signaled = waiter is null;
        }

        waiter?.TrySetResult(); // outside the lock: the waiter's continuation runs asynchronously anyway
    }

    /// <summary>Completes at once when set since the last wait (and resets), otherwise at the next <see cref="Set"/>.
    /// To wake on cancellation, register <see cref="Set"/> with the token once (cheaper than a token per wait).</summary>
    public Task WaitAsync()
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (_signaled)
            {
                _signaled = false;
                return Task.CompletedTask;
            }

            waiter = _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return waiter.Task;
    }
}
