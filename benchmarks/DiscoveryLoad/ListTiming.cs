namespace DiscoveryLoad;

/// <summary>One list the API server answered, as the child process reports it (timestamps are
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>: CLOCK_MONOTONIC on Linux, one clock for both
/// processes).</summary>
internal sealed record ListTiming(string Resource, int Items, long Bytes, long Start, long End);
