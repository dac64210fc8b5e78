using System.Diagnostics.Metrics;

namespace XdsServer.Ca.Internal;

/// <summary>
/// Instruments on the meter <c>XdsServer.Ca</c>, made from the host's <see cref="IMeterFactory"/> (one set per service
/// provider, registered by <c>AddCertificateAuthority</c>): <c>xds.ca.certificates.issued</c>,
/// <c>xds.ca.requests.refused</c> (tag <c>reason</c>: a <see cref="CertificateRequestError"/> name, or
/// <c>ForeignTrustDomain</c> — never the caller's text) and the gauge <c>xds.ca.identities.held</c>, the identities
/// held by the rotators tracked here (the host's one, normally). A rotator made with <c>new</c> is tracked by none:
/// there is no process-wide meter, so two hosts in one process never see each other's identities.
/// </summary>
internal sealed class CaMetrics
{
    public const string MeterName = "XdsServer.Ca";

    public const string ForeignTrustDomain = "ForeignTrustDomain";

    private readonly Lock _gate = new();
    private readonly List<WorkloadCertificateRotator> _rotators = [];
    private readonly Counter<long> _issued;
    private readonly Counter<long> _refused;

    public CaMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _issued = meter.CreateCounter<long>("xds.ca.certificates.issued", description: "Workload certificates issued");
        _refused = meter.CreateCounter<long>("xds.ca.requests.refused", description: "Certificate requests refused, by reason");
        meter.CreateObservableGauge("xds.ca.identities.held", ObserveHeld, unit: "{identity}",
            description: "Workload identities held (and renewed) by the certificate rotators");
    }

    public void Issued() => _issued.Add(1);

    public void Refuse(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts <paramref name="rotator"/>'s identities in the gauge until it is disposed.</summary>
    public void Track(WorkloadCertificateRotator rotator)
    {
        lock (_gate)
        {
            _rotators.Add(rotator);
        }
    }

    public void Untrack(WorkloadCertificateRotator rotator)
    {
        lock (_gate)
        {
            _rotators.Remove(rotator);
        }
    }

    private int ObserveHeld()
    {
        WorkloadCertificateRotator[] rotators;
        lock (_gate)
        {
            rotators = [.. _rotators];
        }

        // Counted outside the gate: a rotator's count takes the rotator's own lock.
        return rotators.Sum(static r => r.Count);
    }
}
