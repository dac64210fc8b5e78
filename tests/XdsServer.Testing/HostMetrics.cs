using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace XdsServer.Testing;

/// <summary>
/// Sums what one host's meters record, as an exporter of that host would see it: only instruments whose meter was
/// made by the host's <see cref="IMeterFactory"/> (<see cref="Meter.Scope"/>), so other hosts in the process (other
/// tests) never add to it. Keys are <c>instrument</c> or, for a measurement with a tag named <paramref name="tag"/>,
/// <c>instrument/value</c> too.
/// </summary>
public sealed class HostMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _sums = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _last = new(StringComparer.Ordinal);

    /// <summary>Starts listening to the meters of <paramref name="services"/>' <see cref="IMeterFactory"/> named
    /// <paramref name="meterName"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="meterName">The meter, e.g. <c>XdsServer</c>.</param>
    /// <param name="tag">A tag whose value also keys the sums, e.g. <c>reason</c>; null for none.</param>
    public HostMetrics(IServiceProvider services, string meterName, string? tag = null)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == meterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags, tag));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags, tag));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags, tag));
        _listener.Start();
    }

    /// <summary>The sum of what <paramref name="key"/> recorded (0 when nothing).</summary>
    public double this[string key] => _sums.GetValueOrDefault(key);

    /// <summary>Whether <paramref name="key"/> recorded anything.</summary>
    public bool Has(string key) => _sums.ContainsKey(key);

    /// <summary>Reads the observable instruments now and returns <paramref name="instrument"/>'s last value.</summary>
    public double Observe(string instrument)
    {
        _last.TryRemove(instrument, out _);
        _listener.RecordObservableInstruments();
        return _last.TryGetValue(instrument, out var value) ? value
            : throw new InvalidOperationException($"the instrument {instrument} was not observed");
    }

    /// <summary>Every sum, for failure messages.</summary>
    public override string ToString() => string.Join(", ", _sums.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, string? tag)
    {
        _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
        _last[instrument.Name] = value;
        if (tag is null)
        {
            return;
        }

        foreach (var (key, tagValue) in tags)
        {
            if (key == tag)
            {
                _sums.AddOrUpdate($"{instrument.Name}/{tagValue}", value, (_, sum) => sum + value);
            }
        }
    }
}
