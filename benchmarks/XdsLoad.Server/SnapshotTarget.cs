using System.Diagnostics;
using XdsServer.Cache;

namespace XdsLoad.Server;

/// <summary>The real thing: every proxy maps to node group "mesh" of XdsServer's <see cref="SnapshotCache"/>.</summary>
internal sealed class SnapshotTarget(SnapshotCache cache, AckCounter counter) : IMeshTarget
{
    public const string Group = "mesh";
    private readonly Lock _gate = new();
    private MeshModel? _model;
    private Snapshot? _current;

    public SetupResult Setup(MeshShape shape)
    {
        lock (_gate)
        {
            _model = new MeshModel(shape);
            _current = _model.BuildInitial();
            cache.SetSnapshot(Group, _current);
            return Describe(_current, _model.Generation);
        }
    }

    public UpdateResult Update(UpdateRequest request)
    {
        lock (_gate)
        {
            if (_model is null || _current is null)
            {
                throw new InvalidOperationException("POST /setup first");
            }

            var next = Next(_model, _current, request);
            // Taken just before publishing: the start of every proxy's convergence latency.
            var timestamp = Stopwatch.GetTimestamp();
            cache.SetSnapshot(Group, next);
            var result = Changes(_current, next, _model.Generation, timestamp);
            _current = next;
            return result;
        }
    }

    public PublishedResult Published()
    {
        lock (_gate)
        {
            return _current is null || _model is null ? throw new InvalidOperationException("POST /setup first") : PublishedResult.Of(_current, _model.Generation);
        }
    }

    public StatsResult Stats() => new("xds", counter.Acks, counter.Nacks, counter.LastNackError, counter.OpenStreams);

    internal static Snapshot Next(MeshModel model, Snapshot current, UpdateRequest request) => request.Kind switch
    {
        "churn" => model.Churn(current, request.Fraction),
        "full-change" => model.FullChange(current),
        "bad-cluster" => model.BadCluster(current),
        _ => throw new ArgumentException($"unknown update kind '{request.Kind}' (churn, full-change, bad-cluster)"),
    };

    internal static SetupResult Describe(Snapshot snapshot, int generation) => new(
        generation,
        snapshot.ResourceSets.ToDictionary(s => s.TypeUrl, s => s.Version, StringComparer.Ordinal),
        snapshot.ResourceSets.ToDictionary(s => s.TypeUrl, s => s.Count, StringComparer.Ordinal));

    internal static UpdateResult Changes(Snapshot before, Snapshot after, int generation, long timestamp)
    {
        var changed = new Dictionary<string, string>(StringComparer.Ordinal);
        var resources = 0;
        foreach (var set in after.ResourceSets)
        {
            var old = before.GetResources(set.TypeUrl);
            if (old is null || old.Version != set.Version)
            {
                changed[set.TypeUrl] = set.Version;
                var diff = set.DiffFrom(old);
                resources += diff.Added.Count + diff.Updated.Count + diff.Removed.Count;
            }
        }

        return new UpdateResult(generation, timestamp, Stopwatch.Frequency, changed, resources);
    }
}
