using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace XdsServer.Benchmarks;

/// <summary>
/// The configuration every benchmark runs with: allocations measured, and a short job (one process,
/// 2 warm-up and 5 measured iterations) so that the whole suite fits in minutes on a small, noisy machine.
/// Classes with a <c>Baseline = true</c> method also get a Ratio column. Being the default job, it is the base
/// that <c>--warmupCount</c>, <c>--iterationCount</c>, <c>--launchCount</c>... adjust; <c>--job</c> is ignored.
/// </summary>
public sealed class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithId("Short")
            .AsDefault());
        AddDiagnoser(MemoryDiagnoser.Default);

        // The generated runner project compiles the Envoy API assembly again; 2 busy cores need more than
        // BenchmarkDotNet's default two minutes for that.
        WithBuildTimeout(TimeSpan.FromMinutes(10));
    }
}
