using Microsoft.Extensions.Logging;

namespace XdsServer.Cache.Internal;

/// <summary>A one-shot watch: answered at most once, then gone; disposing it cancels it.</summary>
internal sealed class CacheWatch : IDisposable
{
    private readonly Action<WatchResponse> _onResponse;
    private readonly Action<CacheWatch> _remove;
    private int _done;

    public CacheWatch(WatchRequest request, Action<WatchResponse> onResponse, Action<CacheWatch> remove)
    {
        ArgumentNullException.ThrowIfNull(request);
        Request = request;
        _onResponse = onResponse ?? throw new ArgumentNullException(nameof(onResponse));
        _remove = remove;
    }

    public WatchRequest Request { get; }

    public bool IsDone => Volatile.Read(ref _done) != 0;

    /// <summary>Claims the watch for a response or a cancellation; only one caller ever wins.</summary>
    public bool TryClaim() => Interlocked.Exchange(ref _done, 1) == 0;

    public void Dispose()
    {
        if (TryClaim())
        {
            _remove(this);
        }
    }

    /// <summary>
    /// Evaluates watches against the sets they watch and answers those that need something. Called outside
    /// every cache lock; stops as soon as a newer update has started (it evaluates the same watches, against
    /// newer sets), so a slow evaluation never answers with an older set than a faster one did.
    /// </summary>
    public static void EvaluateAll(IReadOnlyList<(CacheWatch Watch, ResourceSet Set)> watches, Func<bool> isCurrent,
        ILogger logger)
    {
        foreach (var (watch, set) in watches)
        {
            if (watch.IsDone)
            {
                continue;
            }

            if (!isCurrent())
            {
                return;
            }

            var response = ResponseComputer.Compute(watch.Request.State, set);
            if (response is null || !watch.TryClaim())
            {
                continue;
            }

            watch._remove(watch);
            CacheMetrics.Responses.Add(1);
            try
            {
                watch._onResponse(response);
            }
            catch (Exception e)
            {
                // The callback belongs to a stream; one failing stream must not stop the others' updates.
                CacheLog.ResponseCallbackFailed(logger, e, response.TypeUrl);
            }
        }
    }
}
