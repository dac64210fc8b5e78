using System.Diagnostics.Metrics;

namespace XdsServer.Ca.Internal;

/// <summary>Instruments on the meter <c>XdsServer.Ca</c>. Refusals carry the tag <c>reason</c>
/// (a <see cref="CertificateRequestError"/> name, or <c>ForeignTrustDomain</c>).</summary>
internal static class CaMetrics
{
    public const string MeterName = "XdsServer.Ca";

    public const string ForeignTrustDomain = "ForeignTrustDomain";

    public static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Issued =
        Meter.CreateCounter<long>("xds.ca.certificates.issued", description: "Workload certificates issued");

    public static readonly Counter<long> Refused =
        Meter.CreateCounter<long>("xds.ca.requests.refused", description: "Certificate requests refused, by reason");

    public static void Refuse(string reason) => Refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
