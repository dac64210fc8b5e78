using BenchmarkDotNet.Attributes;
using XdsServer.Cache;

namespace XdsServer.Benchmarks;

/// <summary>
/// What changed between two sets of N load assignments, when 0.1%, 1% or 100% of them changed:
/// <c>changed.DiffFrom(base)</c> reads the change history the sets share (O(changed)); the baseline diffs
/// against a set equal to the base but built independently (fresh messages and resources, so no shared
/// history and no shared references), which forces the full O(N) comparison.
/// </summary>
public class DeltaDiffBenchmarks
{
    private ResourceSet _base = null!;
    private ResourceSet _baseRebuilt = null!;
    private ResourceSet _changed = null!;

    [Params(1_000, 10_000, 100_000)]
    public int N { get; set; }

    [Params(0.1, 1.0, 100.0)]
    public double ChangedPercent { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var baseSnapshot = ResourceFactory.EdsSnapshot(ResourceFactory.LoadAssignments(N, revision: 0));
        _base = ResourceFactory.LoadAssignmentsOf(baseSnapshot);
        _changed = ResourceFactory.LoadAssignmentsOf(ResourceFactory.WithChangedLoadAssignments(baseSnapshot, N, ChangedPercent));
        _baseRebuilt = ResourceFactory.LoadAssignmentsOf(
            ResourceFactory.EdsSnapshot(ResourceFactory.LoadAssignments(N, revision: 0)));

        if (_baseRebuilt.Version != _base.Version)
        {
            throw new InvalidOperationException("Equal content must have an equal version.");
        }

        var expected = ResourceFactory.ChangedIndices(N, ChangedPercent).Length;
        var fromHistory = _changed.DiffFrom(_base);
        var full = _changed.DiffFrom(_baseRebuilt);
        if (fromHistory.Updated.Count != expected || !fromHistory.Updated.SequenceEqual(full.Updated)
            || !fromHistory.Added.SequenceEqual(full.Added) || !fromHistory.Removed.SequenceEqual(full.Removed))
        {
            throw new InvalidOperationException($"Diffs disagree: history {fromHistory}, full {full}, expected {expected} updated.");
        }
    }

    [Benchmark(Description = "DiffFrom(base): history")]
    public ResourceSetDiff FromHistory() => _changed.DiffFrom(_base);

    [Benchmark(Description = "DiffFrom(equal rebuilt base): full", Baseline = true)]
    public ResourceSetDiff FullComparison() => _changed.DiffFrom(_baseRebuilt);
}
