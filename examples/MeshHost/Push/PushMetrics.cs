using System.Diagnostics.Metrics;
using MeshHost.Generation;

namespace MeshHost.Push;

/// <summary>One push of the pipeline, as <c>/debug/push_status</c> shows it.</summary>
/// <param name="Sequence">The push's number (1 = the first push context).</param>
/// <param name="Generation">The registry generation pushed.</param>
/// <param name="Reason"><c>initial</c> or <c>full</c> (everything pushed), else the short kinds of the changed
/// objects, comma-separated.</param>
/// <param name="ChangedKeys">How many registry objects changed in the debounce window.</param>
/// <param name="ProxiesPushed">Proxies given new configuration.</param>
/// <param name="ProxiesSkipped">Proxies that could see nothing of the change and were not pushed.</param>
/// <param name="Full">Of those pushed, how many were regenerated whole.</param>
/// <param name="Routes">How many got only listeners and routes regenerated.</param>
/// <param name="Endpoints">How many got only endpoints regenerated (EDS-only).</param>
/// <param name="DebounceMilliseconds">How long the first change of the window waited before the push started.</param>
/// <param name="DurationMilliseconds">How long the push took (context, scope and generation).</param>
/// <param name="At">When it finished.</param>
public sealed record PushSummary(long Sequence, long Generation, string Reason, int ChangedKeys, int ProxiesPushed, int ProxiesSkipped,
    int Full, int Routes, int Endpoints, double DebounceMilliseconds, double DurationMilliseconds, DateTimeOffset At);

/// <summary>The pipeline's counters since it started.</summary>
/// <param name="Pushes">Pushes (push contexts built).</param>
/// <param name="ProxiesPushed">Proxy configurations generated and set (first configurations included).</param>
/// <param name="ProxiesSkipped">Proxies left alone by a push because nothing they see changed.</param>
/// <param name="ByType">Proxy pushes by type (<c>full</c>, <c>routes</c>, <c>eds</c>, <c>routes+eds</c>).</param>
/// <param name="ByReason">Proxy pushes by reason (<c>initial</c>, a changed kind, ...).</param>
/// <param name="PendingChanges">Registry changes waiting in the current debounce window.</param>
/// <param name="Last">The last push, or null before the first.</param>
public sealed record PushStatus(long Pushes, long ProxiesPushed, long ProxiesSkipped, IReadOnlyDictionary<string, long> ByType,
    IReadOnlyDictionary<string, long> ByReason, int PendingChanges, PushSummary? Last);

/// <summary>
/// The pipeline's instruments (meter <c>MeshHost</c>, created through the host's <see cref="IMeterFactory"/>; without
/// one, as in tests that build a publisher by hand, no instrument is made and only <see cref="Status"/> counts): <c>meshhost.push.proxies</c> (proxy pushes by <c>type</c> and <c>reason</c>), <c>meshhost.push.skipped</c>
/// (proxies a push left alone), <c>meshhost.pushes</c> (pushes by <c>scope</c>: full or scoped),
/// <c>meshhost.push.debounce</c> (ms a window waited), <c>meshhost.push.translation</c> (ms per proxy
/// generation, by <c>type</c>) and <c>meshhost.push.duration</c> (ms per push); and the same counts kept for
/// <see cref="Status"/>.
/// </summary>
internal sealed class PushMetrics
{
    public const string MeterName = "MeshHost";

    private readonly Counter<long>? _proxies;
    private readonly Counter<long>? _skipped;
    private readonly Counter<long>? _pushes;
    private readonly Histogram<double>? _debounce;
    private readonly Histogram<double>? _translation;
    private readonly Histogram<double>? _duration;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, long> _byType = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _byReason = new(StringComparer.Ordinal);
    private long _pushCount;
    private long _pushed;
    private long _skippedCount;
    private PushSummary? _last;

    public PushMetrics(IMeterFactory? factory)
    {
        if (factory?.Create(MeterName) is not { } meter)
        {
            return;
        }

        _proxies = meter.CreateCounter<long>("meshhost.push.proxies", "{proxy}", "Proxy configurations pushed, by type and reason");
        _skipped = meter.CreateCounter<long>("meshhost.push.skipped", "{proxy}", "Proxies a push left alone: nothing they see changed");
        _pushes = meter.CreateCounter<long>("meshhost.pushes", "{push}", "Push contexts built, by scope (full or scoped)");
        _debounce = meter.CreateHistogram<double>("meshhost.push.debounce", "ms", "How long the first change of a window waited");
        _translation = meter.CreateHistogram<double>("meshhost.push.translation", "ms", "Time to generate one proxy's configuration");
        _duration = meter.CreateHistogram<double>("meshhost.push.duration", "ms", "Time of one push, all proxies");
    }

    public int PendingChanges { get; set; }

    public PushStatus Status
    {
        get
        {
            lock (_gate)
            {
                return new PushStatus(_pushCount, _pushed, _skippedCount, new Dictionary<string, long>(_byType, StringComparer.Ordinal),
                    new Dictionary<string, long>(_byReason, StringComparer.Ordinal), PendingChanges, _last);
            }
        }
    }

    public static string TypeName(PushTypes types) => types switch
    {
        _ when types.HasFlag(PushTypes.Full) => "full",
        PushTypes.Routes | PushTypes.Endpoints => "routes+eds",
        PushTypes.Routes => "routes",
        PushTypes.Endpoints => "eds",
        _ => "none",
    };

    public void ProxyPushed(ProxyPush push, double milliseconds)
    {
        var type = TypeName(push.Types);
        var reason = push.Reason.Length > 0 ? push.Reason : "unknown";
        _proxies?.Add(1, new KeyValuePair<string, object?>("type", type), new KeyValuePair<string, object?>("reason", reason));
        _translation?.Record(milliseconds, new KeyValuePair<string, object?>("type", type));
        lock (_gate)
        {
            _pushed++;
            _byType[type] = _byType.GetValueOrDefault(type) + 1;
            _byReason[reason] = _byReason.GetValueOrDefault(reason) + 1;
        }
    }

    public void ProxySkipped()
    {
        _skipped?.Add(1);
        lock (_gate)
        {
            _skippedCount++;
        }
    }

    public void Pushed(PushSummary summary, bool full)
    {
        _pushes?.Add(1, new KeyValuePair<string, object?>("scope", full ? "full" : "scoped"));
        _debounce?.Record(summary.DebounceMilliseconds);
        _duration?.Record(summary.DurationMilliseconds);
        lock (_gate)
        {
            _pushCount++;
            _last = summary;
        }
    }
}
