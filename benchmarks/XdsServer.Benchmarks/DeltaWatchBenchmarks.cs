using BenchmarkDotNet.Attributes;
using Envoy.Config.Core.V3;
using XdsServer.Cache;

namespace XdsServer.Benchmarks;

/// <summary>
/// The delta watch path end to end: a wildcard delta client for ClusterLoadAssignment that holds the base
/// version opens a watch on a <see cref="SnapshotCache"/> holding the changed snapshot; the response (the
/// changed resources) is computed and delivered inside <c>CreateWatch</c>, and the watch is disposed. Each
/// client state is brought to its version by a real response of a cache holding that snapshot.
/// </summary>
/// <remarks>
/// A set remembers the last "what changed since X" it computed, so the watches of one group after one update
/// pay for the diff once. The "first watch" benchmarks defeat that memo by alternating between two clients
/// whose baselines differ but need the same response: two sets of the base lineage (the base, and a copy of
/// it two generations on) for the history path; two equal sets built independently of the base for the
/// full-comparison baseline. "Later watch" repeats one client, so every watch after the first hits the memo.
/// </remarks>
public class DeltaWatchBenchmarks
{
    private readonly Node _node = ResourceFactory.Node();
    private readonly Action<WatchResponse> _onResponse;
    private readonly List<SnapshotCache> _caches = [];
    private SnapshotCache _changedCache = null!;
    private ClientState[] _atBaseLineage = null!;
    private ClientState[] _atRebuiltBase = null!;
    private int _expected;
    private int _turn;
    private WatchResponse? _last;

    public DeltaWatchBenchmarks() => _onResponse = r => _last = r;

    [Params(1_000, 10_000, 100_000)]
    public int N { get; set; }

    [Params(0.1, 1.0, 100.0)]
    public double ChangedPercent { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var baseMessages = ResourceFactory.LoadAssignments(N, revision: 0);
        var baseSnapshot = ResourceFactory.EdsSnapshot(baseMessages);

        // The same content two generations on: service-000000 changed and changed back (index 0 is always
        // among the changed ones, so both baselines need exactly the same response).
        var sameAgain = baseSnapshot.ToBuilder().Set(ResourceFactory.LoadAssignment(0, revision: 1)).Build()
            .ToBuilder().Set(baseMessages[0]).Build();
        var changedSnapshot = ResourceFactory.WithChangedLoadAssignments(sameAgain, N, ChangedPercent);
        var wildcard = ClientState.ForDelta(EnvoyResourceTypes.ClusterLoadAssignment).ApplyDeltaRequest(["*"], []);
        _atBaseLineage = [BringTo(wildcard, baseSnapshot), BringTo(wildcard, sameAgain)];
        _atRebuiltBase =
        [
            BringTo(wildcard, ResourceFactory.EdsSnapshot(ResourceFactory.LoadAssignments(N, revision: 0))),
            BringTo(wildcard, ResourceFactory.EdsSnapshot(ResourceFactory.LoadAssignments(N, revision: 0))),
        ];
        _changedCache = CacheHolding(changedSnapshot);
        _expected = ResourceFactory.ChangedIndices(N, ChangedPercent).Length;
        if (ResourceFactory.LoadAssignmentsOf(sameAgain).Version != ResourceFactory.LoadAssignmentsOf(baseSnapshot).Version)
        {
            throw new InvalidOperationException("Equal content must have an equal version.");
        }

        foreach (var state in _atBaseLineage.Concat(_atRebuiltBase))
        {
            Check(Watch(state));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var cache in _caches)
        {
            cache.Dispose();
        }
    }

    [Benchmark(Description = "first watch, client in base lineage: history")]
    public WatchResponse? FirstFromHistory() => Watch(_atBaseLineage[_turn++ & 1]);

    [Benchmark(Description = "first watch, client at rebuilt base: full", Baseline = true)]
    public WatchResponse? FirstFullComparison() => Watch(_atRebuiltBase[_turn++ & 1]);

    [Benchmark(Description = "later watch, same client: memo hit")]
    public WatchResponse? Later() => Watch(_atBaseLineage[0]);

    private WatchResponse? Watch(ClientState state)
    {
        _last = null;
        using (_changedCache.CreateWatch(new WatchRequest(_node, state), _onResponse))
        {
            return _last;
        }
    }

    private ClientState BringTo(ClientState state, Snapshot snapshot)
    {
        var cache = CacheHolding(snapshot);
        WatchResponse? response = null;
        using (cache.CreateWatch(new WatchRequest(_node, state), r => response = r))
        {
            if (response is null || response.Resources.Count != N)
            {
                throw new InvalidOperationException($"The first delta response should carry all {N} resources: {response}.");
            }

            return state.ApplyResponse(response);
        }
    }

    private SnapshotCache CacheHolding(Snapshot snapshot)
    {
        var cache = new SnapshotCache();
        _caches.Add(cache);
        cache.SetSnapshot(ResourceFactory.GroupKey, snapshot);
        return cache;
    }

    private void Check(WatchResponse? response)
    {
        if (response is null || response.Resources.Count != _expected || response.RemovedNames.Count != 0)
        {
            throw new InvalidOperationException($"The delta response should carry {_expected} changed resources: {response}.");
        }
    }
}
