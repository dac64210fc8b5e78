using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace XdsServer.Tests;

/// <summary>The <c>XdsServer</c> meter reports streams, requests, ACKs, NACKs, responses, bytes and push latency.</summary>
[Collection(nameof(MemorySensitive))]
public class MetricsTests
{
    [Fact]
    public async Task Stream_activity_is_measured()
    {
        var seen = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "XdsServer")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => seen.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => seen.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        listener.Start();

        await using var server = await LoopbackXdsServer.StartAsync();
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        await using (var client = XdsProtocolClient.Sotw(server.Address, "n1"))
        {
            await client.SendAsync(TypeUrls.Cluster);
            await client.AckAsync(await client.NextAsync("clusters"));
            await client.SendAsync(TypeUrls.Listener, withNode: false);
            var lds = await client.NextAsync("listeners");
            await client.SendAsync(TypeUrls.Listener, nonce: lds.Nonce, error: "no", withNode: false);
            await Eventually.TrueAsync(() => seen.ContainsKey("xds.server.nacks"), "the NACK to be counted");
        }

        await Eventually.TrueAsync(() => seen.TryGetValue("xds.server.streams.open", out var open) && open == 0, "the stream gauge to return to 0");
        Assert.Equal(2, seen["xds.server.responses"]);
        Assert.Equal(1, seen["xds.server.acks"]);
        Assert.Equal(1, seen["xds.server.nacks"]);
        Assert.Equal(4, seen["xds.server.requests"]);
        Assert.True(seen["xds.server.bytes_sent"] > 100);
        Assert.True(seen["xds.server.push_latency"] > 0);
    }
}
