using BenchmarkDotNet.Attributes;
using Envoy.Config.Endpoint.V3;
using XdsServer.Cache;

namespace XdsServer.Benchmarks;

/// <summary>
/// Deriving the next snapshot from a base of N load assignments when 0.1%, 1% or 100% of them changed:
/// <c>base.ToBuilder()</c>, <c>Set(message)</c> per changed resource, <c>Build()</c>. The new messages are made
/// in setup, so what is measured is serializing and hashing the changed resources plus the O(k log n) set
/// update. Ratios are against the 100%-changed build of the same N (the target: at 100k, 1% ≤ 5%).
/// </summary>
public class SnapshotBuildBenchmarks
{
    private Snapshot _base = null!;
    private ClusterLoadAssignment[] _baseMessages = null!;
    private ClusterLoadAssignment[] _changedTenthPercent = null!;
    private ClusterLoadAssignment[] _changedOnePercent = null!;
    private ClusterLoadAssignment[] _changedAll = null!;

    [Params(1_000, 10_000, 100_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _baseMessages = ResourceFactory.LoadAssignments(N, revision: 0);
        _base = ResourceFactory.EdsSnapshot(_baseMessages);
        _changedTenthPercent = ResourceFactory.ChangedLoadAssignments(N, 0.1);
        _changedOnePercent = ResourceFactory.ChangedLoadAssignments(N, 1);
        _changedAll = ResourceFactory.ChangedLoadAssignments(N, 100);

        // Re-setting the very message objects the snapshot holds must cost nothing: the set comes back as
        // the same reference (so every watch skips it), and a changed build really changes what it should.
        var baseSet = ResourceFactory.LoadAssignmentsOf(_base);
        var same = Build(_baseMessages);
        if (!ReferenceEquals(ResourceFactory.LoadAssignmentsOf(same), baseSet))
        {
            throw new InvalidOperationException("Setting the same message objects built a new ResourceSet.");
        }

        var diff = ResourceFactory.LoadAssignmentsOf(Build(_changedOnePercent)).DiffFrom(baseSet);
        if (diff.Updated.Count != _changedOnePercent.Length || diff.Added.Count + diff.Removed.Count != 0)
        {
            throw new InvalidOperationException($"Expected {_changedOnePercent.Length} updated resources, got {diff}.");
        }
    }

    [Benchmark(Description = "0.1% changed")]
    public Snapshot ChangedTenthPercent() => Build(_changedTenthPercent);

    [Benchmark(Description = "1% changed")]
    public Snapshot ChangedOnePercent() => Build(_changedOnePercent);

    [Benchmark(Description = "100% changed", Baseline = true)]
    public Snapshot ChangedAll() => Build(_changedAll);

    /// <summary>Every resource re-set with the message object already held: lookups only, no serialization.</summary>
    [Benchmark(Description = "100% same objects")]
    public Snapshot SameObjects() => Build(_baseMessages);

    private Snapshot Build(ClusterLoadAssignment[] messages)
    {
        var builder = _base.ToBuilder();
        foreach (var message in messages)
        {
            builder.Set(message);
        }

        return builder.Build();
    }
}
