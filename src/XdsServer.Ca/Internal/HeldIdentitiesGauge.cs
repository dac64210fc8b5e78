using System.Diagnostics.Metrics;

namespace XdsServer.Ca.Internal;

/// <summary>
/// The gauge <c>xds.ca.identities.held</c> on the static <c>XdsServer.Ca</c> meter: the identities held by
/// every live <see cref="WorkloadCertificateRotator"/> of the process, summed (a host normally has one).
/// </summary>
/// <remarks>
/// The meter outlives any rotator, so it must not keep one alive: rotators are held by weak reference, added
/// when made and removed when disposed; one collected without being disposed is pruned at the next reading.
/// </remarks>
internal static class HeldIdentitiesGauge
{
    // Declared before the gauge: static fields initialise in order, and the gauge's callback reads these.
    private static readonly Lock Gate = new();
    private static readonly List<WeakReference<WorkloadCertificateRotator>> Live = [];

    /// <summary>The instrument; made when the first rotator registers.</summary>
    public static readonly ObservableGauge<int> Gauge = CaMetrics.Meter.CreateObservableGauge(
        "xds.ca.identities.held", Observe, unit: "{identity}", description: "Workload identities held (and renewed) by the certificate rotators");

    public static void Register(WorkloadCertificateRotator rotator)
    {
        lock (Gate)
        {
            Live.RemoveAll(static w => !w.TryGetTarget(out _));
            Live.Add(new WeakReference<WorkloadCertificateRotator>(rotator));
        }
    }

    public static void Unregister(WorkloadCertificateRotator rotator)
    {
        lock (Gate)
        {
            Live.RemoveAll(w => !w.TryGetTarget(out var target) || ReferenceEquals(target, rotator));
        }
    }

    private static int Observe()
    {
        List<WorkloadCertificateRotator> rotators = [];
        lock (Gate)
        {
            Live.RemoveAll(w =>
            {
                if (!w.TryGetTarget(out var target))
                {
                    return true;
                }
                rotators.Add(target);
                return false;
            });
        }
        // Counted outside the gate: a rotator's count takes the rotator's own lock.
        return rotators.Sum(static r => r.Count);
    }
}
