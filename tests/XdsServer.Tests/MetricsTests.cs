using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace XdsServer.Tests;

/// <summary>The <c>XdsServer</c> and <c>XdsServer.Cache</c> meters report streams, requests, ACKs, NACKs, responses,
/// bytes, push latency and snapshots, each host on meters of its own <see cref="IMeterFactory"/>.</summary>
public class MetricsTests
{
    [Fact]
    public async Task Stream_activity_is_measured()
    {
        await using var server = await LoopbackXdsServer.StartAsync();
        using var seen = new HostMetrics(server.Services, "XdsServer");
        using var cache = new HostMetrics(server.Services, "XdsServer.Cache");
        server.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        await using (var client = XdsProtocolClient.Sotw(server.Address, "n1"))
        {
            await client.SendAsync(TypeUrls.Cluster);
            await client.AckAsync(await client.NextAsync("clusters"));
            await client.SendAsync(TypeUrls.Listener, withNode: false);
            var lds = await client.NextAsync("listeners");
            await client.SendAsync(TypeUrls.Listener, nonce: lds.Nonce, error: "no", withNode: false);
            await Eventually.TrueAsync(() => seen.Has("xds.server.nacks"), "the NACK to be counted");
        }

        await Eventually.TrueAsync(() => seen.Has("xds.server.streams.open") && seen["xds.server.streams.open"] == 0,
            "the stream gauge to return to 0");
        Assert.Equal(2, seen["xds.server.responses"]);
        Assert.Equal(1, seen["xds.server.acks"]);
        Assert.Equal(1, seen["xds.server.nacks"]);
        Assert.Equal(4, seen["xds.server.requests"]);
        Assert.True(seen["xds.server.bytes_sent"] > 100, seen.ToString());
        Assert.True(seen["xds.server.push_latency"] > 0, seen.ToString());
        Assert.Equal(1, cache["xds.cache.snapshots_set"]);
        // The streams compute their own answers from the change signals: the cache answers no watch.
        Assert.False(cache.Has("xds.cache.watch_responses"), cache.ToString());
    }

    [Fact]
    public async Task Two_hosts_in_one_process_count_only_their_own_responses()
    {
        await using var first = await LoopbackXdsServer.StartAsync();
        await using var second = await LoopbackXdsServer.StartAsync();
        Assert.NotSame(first.Services.GetRequiredService<IMeterFactory>(), second.Services.GetRequiredService<IMeterFactory>());
        using var firstResponses = new MetricCollector<long>(first.Services.GetRequiredService<IMeterFactory>(), "XdsServer", "xds.server.responses");
        using var secondResponses = new MetricCollector<long>(second.Services.GetRequiredService<IMeterFactory>(), "XdsServer", "xds.server.responses");
        using var secondSnapshots = new MetricCollector<long>(second.Services.GetRequiredService<IMeterFactory>(), "XdsServer.Cache", "xds.cache.snapshots_set");

        first.Snapshots.SetSnapshot("n1", SotwStreamTests.Hello());
        await using (var client = XdsProtocolClient.Sotw(first.Address, "n1"))
        {
            await client.SendAsync(TypeUrls.Cluster);
            await client.AckAsync(await client.NextAsync("clusters"));
            await client.SendAsync(TypeUrls.Listener, withNode: false);
            await client.AckAsync(await client.NextAsync("listeners"));
        }

        second.Snapshots.SetSnapshot("n2", SotwStreamTests.Hello());
        await using (var client = XdsProtocolClient.Sotw(second.Address, "n2"))
        {
            await client.SendAsync(TypeUrls.Cluster);
            await client.AckAsync(await client.NextAsync("clusters"));
        }

        Assert.Equal(2, firstResponses.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, secondResponses.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, secondSnapshots.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public void A_cache_made_without_a_meter_factory_records_nothing_and_one_given_a_factory_records_on_its_meter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var published = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == "XdsServer.Cache")
                {
                    lock (published)
                    {
                        published.Add(instrument);
                    }
                }
            },
        };
        listener.Start();
        using var collector = new MetricCollector<long>(factory, "XdsServer.Cache", "xds.cache.snapshots_set");

        using (var plain = new SnapshotCache())
        {
            plain.SetSnapshot("n1", SotwStreamTests.Hello());
        }

        using (var measured = new SnapshotCache(new SnapshotCacheOptions { MeterFactory = factory }))
        {
            measured.SetSnapshot("n1", SotwStreamTests.Hello());
        }

        Assert.Equal(1, collector.GetMeasurementSnapshot().EvaluateAsCounter());
        lock (published)
        {
            // Only meters of a factory (this one, or other tests' hosts) ever publish cache instruments.
            Assert.All(published, i => Assert.NotNull(i.Meter.Scope));
        }
    }
}
