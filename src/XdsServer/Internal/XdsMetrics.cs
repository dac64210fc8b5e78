using System.Diagnostics.Metrics;

namespace XdsServer.Internal;

/// <summary>
/// Instruments on the meter <c>XdsServer</c>, made from the host's <see cref="IMeterFactory"/>: one set per service
/// provider, so two hosts in one process never share them (a listener tells them apart by
/// <see cref="Meter.Scope"/>). Tags: <c>xds.type</c> (the short name of a type the server serves; an unknown type URL
/// is refused before anything is counted) and <c>xds.protocol</c> (sotw, delta, rest). No tag ever carries text a
/// client sent (node ids, resource names), so the series are safe to show to any scraper.
/// </summary>
internal sealed class XdsMetrics
{
    public const string MeterName = "XdsServer";

    public XdsMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        StreamsOpen = meter.CreateUpDownCounter<long>("xds.server.streams.open", description: "xDS streams currently open");
        Requests = meter.CreateCounter<long>("xds.server.requests", description: "Discovery requests received");
        Acks = meter.CreateCounter<long>("xds.server.acks", description: "Responses ACKed by clients");
        Nacks = meter.CreateCounter<long>("xds.server.nacks", description: "Responses NACKed by clients");
        Responses = meter.CreateCounter<long>("xds.server.responses", description: "Discovery responses sent");
        BytesSent = meter.CreateCounter<long>("xds.server.bytes_sent", unit: "By", description: "Serialized size of responses sent");
        BadRequests = meter.CreateCounter<long>("xds.server.bad_requests", description: "Streams ended for a malformed request");
        PushLatency = meter.CreateHistogram<double>("xds.server.push_latency", unit: "s",
            description: "From a change reaching a stream to the response being written");
    }

    public UpDownCounter<long> StreamsOpen { get; }

    public Counter<long> Requests { get; }

    public Counter<long> Acks { get; }

    public Counter<long> Nacks { get; }

    public Counter<long> Responses { get; }

    public Counter<long> BytesSent { get; }

    public Counter<long> BadRequests { get; }

    public Histogram<double> PushLatency { get; }

    public static KeyValuePair<string, object?> Type(string shortName) => new("xds.type", shortName);

    public static KeyValuePair<string, object?> Protocol(XdsProtocol protocol) =>
        new("xds.protocol", protocol switch { XdsProtocol.Delta => "delta", XdsProtocol.Rest => "rest", _ => "sotw" });
}
