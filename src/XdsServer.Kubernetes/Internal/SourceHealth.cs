using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// The live source's readiness and health from its informers: ready once every informer has finished its initial
/// list (or found its CRD missing); unhealthy while any informer is failing, naming each; kinds whose CRD is missing
/// are named in the message without making the source unhealthy. Only changes reach the sink.
/// </summary>
internal sealed class SourceHealth
{
    private readonly Lock _lock = new();
    private readonly DiscoverySink _sink;
    private readonly HashSet<string> _pending;
    private readonly SortedDictionary<string, string> _failing = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _missing = new(StringComparer.Ordinal);
    private readonly int _informers;
    private bool _ready;
    private (bool Healthy, string Message)? _reported;

    public SourceHealth(DiscoverySink sink, IEnumerable<string> informers)
    {
        _sink = sink;
        _pending = new(informers, StringComparer.Ordinal);
        _informers = _pending.Count;
    }

    /// <summary>Raised (under no lock) with the ready message when the source becomes ready.</summary>
    public event Action<string>? BecameReady;

    /// <summary>The informer listed its kind (initially or again).</summary>
    public void Listed(string informer) => Update(() =>
    {
        _pending.Remove(informer);
        _failing.Remove(informer);
        _missing.Remove(informer);
    });

    /// <summary>The informer's watch is open: whatever failed works again.</summary>
    public void Working(string informer) => Update(() => _failing.Remove(informer));

    /// <summary>The informer is failing.</summary>
    public void Failed(string informer, string message) => Update(() => _failing[informer] = message);

    /// <summary>The informer's kind is not served (its CRD is not installed).</summary>
    public void Missing(string informer) => Update(() =>
    {
        _pending.Remove(informer);
        _failing.Remove(informer);
        _missing.Add(informer);
    });

    /// <summary>Whether the informer is counted as failing now.</summary>
    public bool IsFailing(string informer)
    {
        lock (_lock)
        {
            return _failing.ContainsKey(informer);
        }
    }

    private void Update(Action change)
    {
        string? readyMessage = null;
        lock (_lock)
        {
            change();
            var message = Describe();
            if (!_ready && _pending.Count == 0)
            {
                _ready = true;
                readyMessage = message;
                _sink.SetReady(message);
                _reported = (true, message);
            }

            var now = (_failing.Count == 0, message);
            if (_reported != now)
            {
                _sink.SetHealth(now.Item1, now.message);
                _reported = now;
            }
        }

        if (readyMessage is not null)
        {
            BecameReady?.Invoke(readyMessage);
        }
    }

    private string Describe()
    {
        var parts = new List<string>();
        if (_failing.Count > 0)
        {
            parts.Add("failing: " + string.Join("; ", _failing.Select(f => $"{f.Key} ({f.Value})")));
        }

        parts.Add(_pending.Count > 0
            ? $"listing {_pending.Count} of {_informers} kinds"
            : $"watching {_informers - _missing.Count} kinds");
        if (_missing.Count > 0)
        {
            parts.Add("not installed: " + string.Join(", ", _missing));
        }

        return string.Join("; ", parts);
    }
}
