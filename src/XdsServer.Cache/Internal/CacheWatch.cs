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
    /// every cache lock; once a newer update has started, the remaining watches are evaluated against the
    /// newest set, so a slow evaluation does not answer with a set older than the one in force.
    /// </summary>
    /// <param name="watches">The watches and the set of <paramref name="snapshot"/> each is evaluated against.</param>
    /// <param name="snapshot">The snapshot the sets belong to (null for a cache of one type).</param>
    /// <param name="isCurrent">False once a newer update has started.</param>
    /// <param name="current">The newest set of a type and the snapshot it belongs to.</param>
    /// <param name="logger">Where a failing callback is logged.</param>
    /// <param name="metrics">Counts answered watches.</param>
    /// <param name="evaluations">Counts evaluations per type (tests).</param>
    public static void EvaluateAll(IReadOnlyList<(CacheWatch Watch, ResourceSet Set)> watches, Snapshot? snapshot,
        Func<bool> isCurrent, Func<string, (ResourceSet? Set, Snapshot? Snapshot)> current, ILogger logger,
        CacheMetrics metrics, WatchEvaluations? evaluations = null)
    {
        foreach (var (watch, evaluated) in watches)
        {
            if (watch.IsDone)
            {
                continue;
            }

            // A newer update has started: evaluate against the newest set rather than stop. The newer update
            // skips types whose set it did not change, so stopping here could leave this watch unanswered
            // although its client still lacks what this update brought.
            var (set, from) = isCurrent() ? (evaluated, snapshot) : current(watch.Request.TypeUrl);
            if (set is null)
            {
                continue;
            }

            evaluations?.Count(watch.Request.TypeUrl);
            var response = ResponseComputer.Compute(watch.Request.State, set, from);
            if (response is null || !watch.TryClaim())
            {
                continue;
            }

            watch._remove(watch);
            metrics.WatchAnswered();
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
