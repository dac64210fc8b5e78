using System.Diagnostics.Metrics;
using XdsServer.Internal;

namespace XdsServer.Operations;

/// <summary>One bucket of push history.</summary>
/// <param name="Start">When the bucket began.</param>
/// <param name="Responses">Responses sent in it.</param>
/// <param name="LatencyAverageMs">Their average push latency, in milliseconds (0 without responses).</param>
/// <param name="LatencyMaxMs">Their longest push latency, in milliseconds.</param>
/// <param name="Nacks">NACKs received in it.</param>
internal readonly record struct PushBucket(DateTimeOffset Start, long Responses, double LatencyAverageMs, double LatencyMaxMs, long Nacks);

/// <summary>
/// Responses sent, push latency and NACKs over time, in a ring of fixed time buckets (bounded memory). It listens to
/// the server's own instruments on the <c>XdsServer</c> meter — <c>xds.server.push_latency</c> (one measurement per
/// response written: from a snapshot update reaching a watch to the response being written) and
/// <c>xds.server.nacks</c> — of this host's meter factory only (or of the process-wide meter, which has no factory),
/// so the stream loop needs no hook of its own.
/// </summary>
internal sealed class PushHistory : IDisposable
{
    internal const string LatencyInstrument = "xds.server.push_latency";
    internal const string NacksInstrument = "xds.server.nacks";

    private readonly Lock _gate = new();
    private readonly Slot[] _slots;
    private readonly long _intervalTicks;
    private readonly TimeProvider _time;
    private readonly object? _scope;
    private readonly MeterListener _listener;

    /// <param name="interval">The width of a bucket.</param>
    /// <param name="length">How many buckets are kept.</param>
    /// <param name="time">The clock.</param>
    /// <param name="meterScope">The host's meter factory: only its meters (or the process-wide one) are listened to.</param>
    /// <param name="listen">False to record only what <see cref="Record"/> is given (tests).</param>
    public PushHistory(TimeSpan interval, int length, TimeProvider time, object? meterScope, bool listen = true)
    {
        _intervalTicks = interval.Ticks;
        _slots = new Slot[length];
        _time = time;
        _scope = meterScope;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (Matches(instrument))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == LatencyInstrument)
            {
                Record(value * 1000, 0);
            }
        });
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == NacksInstrument)
            {
                Record(null, value);
            }
        });
        if (listen)
        {
            _listener.Start();
        }
    }

    public TimeSpan Interval => TimeSpan.FromTicks(_intervalTicks);

    /// <summary>Every bucket of the window, oldest first, the current one last (empty buckets included).</summary>
    public IReadOnlyList<PushBucket> Snapshot()
    {
        var now = Index(_time.GetUtcNow());
        var buckets = new PushBucket[_slots.Length];
        lock (_gate)
        {
            for (var i = 0; i < _slots.Length; i++)
            {
                var index = now - _slots.Length + 1 + i;
                var slot = _slots[(int)(index % _slots.Length)];
                var start = new DateTimeOffset(index * _intervalTicks, TimeSpan.Zero);
                buckets[i] = slot.Index == index && slot.Used
                    ? new PushBucket(start, slot.Responses, slot.Responses == 0 ? 0 : slot.LatencySumMs / slot.Responses, slot.LatencyMaxMs, slot.Nacks)
                    : new PushBucket(start, 0, 0, 0, 0);
            }
        }

        return buckets;
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Adds a measurement: a response with its latency, or NACKs.</summary>
    internal void Record(double? latencyMs, long nacks)
    {
        var index = Index(_time.GetUtcNow());
        lock (_gate)
        {
            ref var slot = ref _slots[(int)(index % _slots.Length)];
            if (!slot.Used || slot.Index != index)
            {
                slot = new Slot { Index = index, Used = true };
            }

            if (latencyMs is { } latency)
            {
                slot.Responses++;
                slot.LatencySumMs += latency;
                slot.LatencyMaxMs = Math.Max(slot.LatencyMaxMs, latency);
            }

            slot.Nacks += nacks;
        }
    }

    private bool Matches(Instrument instrument) =>
        instrument.Meter.Name == XdsMetrics.MeterName
        && (instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, _scope))
        && instrument.Name is LatencyInstrument or NacksInstrument;

    private long Index(DateTimeOffset at) => at.UtcTicks / _intervalTicks;

    private struct Slot
    {
        public long Index;
        public bool Used;
        public long Responses;
        public double LatencySumMs;
        public double LatencyMaxMs;
        public long Nacks;
    }
}
