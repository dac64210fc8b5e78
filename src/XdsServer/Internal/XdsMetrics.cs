using System.Diagnostics.Metrics;

namespace XdsServer.Internal;

/// <summary>Instruments on the meter <c>XdsServer</c>. Tags: <c>xds.type</c> (short type name),
/// <c>xds.protocol</c> (sotw, delta, rest).</summary>
internal static class XdsMetrics
{
    public const string MeterName = "XdsServer";

    public static readonly Meter Meter = new(MeterName);

    public static readonly UpDownCounter<long> StreamsOpen =
        Meter.CreateUpDownCounter<long>("xds.server.streams.open", description: "xDS streams currently open");

    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("xds.server.requests", description: "Discovery requests received");

    public static readonly Counter<long> Acks =
        Meter.CreateCounter<long>("xds.server.acks", description: "Responses ACKed by clients");

    public static readonly Counter<long> Nacks =
        Meter.CreateCounter<long>("xds.server.nacks", description: "Responses NACKed by clients");

    public static readonly Counter<long> Responses =
        Meter.CreateCounter<long>("xds.server.responses", description: "Discovery responses sent");

    public static readonly Counter<long> BytesSent =
        Meter.CreateCounter<long>("xds.server.bytes_sent", unit: "By", description: "Serialized size of responses sent");

    public static readonly Counter<long> BadRequests =
        Meter.CreateCounter<long>("xds.server.bad_requests", description: "Streams ended for a malformed request");

    public static readonly Histogram<double> PushLatency =
        Meter.CreateHistogram<double>("xds.server.push_latency", unit: "s",
            description: "From a snapshot update reaching a watch to the response being written");

    public static KeyValuePair<string, object?> Type(string shortName) => new("xds.type", shortName);

    public static KeyValuePair<string, object?> Protocol(XdsProtocol protocol) =>
        new("xds.protocol", protocol switch { XdsProtocol.Delta => "delta", XdsProtocol.Rest => "rest", _ => "sotw" });
}
