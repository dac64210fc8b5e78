using System.Diagnostics;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;

// Real clients are processes that each take CPU to start (grpc-js loads its protos for seconds); run the
// scenarios one at a time so timing bounds (EDS within 5 s) measure the server, not a starved machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace XdsServer.Interop.Tests;

/// <summary>The real xDS clients every scenario runs against, and small helpers the scenarios share.</summary>
public static class RealClients
{
    /// <summary>Theory data: every real client's name.</summary>
    public static TheoryData<string> Names => new(XdsClientRunner.All.Select(r => r.Name));

    /// <summary>A snapshot whose Listener <c>hello</c> (HCM: RDS over ADS, router filter only) routes by
    /// <paramref name="routes"/>; add the clusters.</summary>
    public static SnapshotBuilder Hello(params Route[] routes) => Hello([], routes);

    /// <summary>A snapshot whose Listener <c>hello</c> runs <paramref name="filters"/> (router last for a valid
    /// listener; none means the router alone) and routes by <paramref name="routes"/>; add the clusters.</summary>
    public static SnapshotBuilder Hello(HttpFilter[] filters, params Route[] routes) =>
        Snapshot.CreateBuilder()
            .Add(InteropResources.Listener("hello", "hello-route", filters))
            .Add(InteropResources.Routes("hello-route", routes));

    /// <summary>Polls <paramref name="condition"/> (there is no event for server-side stream status) until it
    /// holds, for at most <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, TimeSpan timeout, Func<string> failure)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > timeout)
            {
                Assert.Fail($"after {timeout.TotalSeconds:0.#} s: {failure()}");
            }

            await Task.Delay(20);
        }
    }
}

