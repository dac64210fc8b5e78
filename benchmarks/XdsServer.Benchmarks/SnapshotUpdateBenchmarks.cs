using BenchmarkDotNet.Attributes;
using Envoy.Config.Core.V3;
using XdsServer.Cache;

namespace XdsServer.Benchmarks;

/// <summary>
/// One snapshot update seen by W streams. The group's snapshot holds 1,000 EDS clusters and their 1,000 load
/// assignments; W state-of-the-world streams subscribe to every load assignment, by name (as Envoy does for
/// EDS) or with the wildcard, and hold the current version. One operation is one update cycle:
/// <list type="number">
/// <item>each stream opens its ClusterLoadAssignment watch (nothing new yet, so every watch waits);</item>
/// <item>the next snapshot is derived with 1% (10) of the load assignments changed (resources serialized in
/// setup, alternating between two revisions, so only the O(k log n) set update is paid here);</item>
/// <item><c>SetSnapshot</c> validates it and answers the W watches; each callback records the response in its
/// stream's <see cref="ClientState"/> (<c>ApplyResponse</c>), so the next cycle starts from the new version.</item>
/// </list>
/// Every cycle checks that all W watches fired with exactly the 10 changed resources. W = 0 is the fixed part
/// (derive + validate + set with no watch).
/// </summary>
public class SnapshotUpdateBenchmarks : IDisposable
{
    private const int Services = 1_000;
    private const double ChangedPercent = 1;

    private readonly Node _node = ResourceFactory.Node();
    private readonly List<XdsResource[]> _revisions = [];
    private SnapshotCache _cache = null!;
    private Snapshot _current = null!;
    private ClientState[] _states = null!;
    private Action<WatchResponse>[] _callbacks = null!;
    private int _changedPerUpdate;
    private int _fired;
    private int _cycle;

    [Params(0, 1, 100, 1_000)]
    public int Watches { get; set; }

    /// <summary>"names": each stream subscribes to the 1,000 names; "*": to the wildcard.</summary>
    [Params("names", "*")]
    public string Subscription { get; set; } = "names";

    [GlobalSetup]
    public void Setup()
    {
        var builder = Snapshot.CreateBuilder();
        for (var i = 0; i < Services; i++)
        {
            builder.Add(ResourceFactory.EdsCluster(i)).Add(ResourceFactory.LoadAssignment(i, revision: 0));
        }

        _current = builder.Build();
        _cache = new SnapshotCache();
        _cache.SetSnapshot(ResourceFactory.GroupKey, _current);
        foreach (var revision in new[] { 1, 2 })
        {
            _revisions.Add([.. ResourceFactory.ChangedLoadAssignments(Services, ChangedPercent, revision).Select(m => XdsResource.Create(m))]);
        }

        _changedPerUpdate = _revisions[0].Length;
        string[] names = Subscription == "*" ? ["*"] : [.. Enumerable.Range(0, Services).Select(ResourceFactory.ServiceName)];
        _states = new ClientState[Watches];
        _callbacks = new Action<WatchResponse>[Watches];
        for (var i = 0; i < Watches; i++)
        {
            var state = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(names);
            WatchResponse? first = null;
            using (_cache.CreateWatch(new WatchRequest(_node, state), r => first = r))
            {
                if (first is null || first.Resources.Count != Services)
                {
                    throw new InvalidOperationException($"The first response should carry all {Services} load assignments: {first}.");
                }
            }

            _states[i] = state.ApplyResponse(first);
            var stream = i;
            _callbacks[i] = response =>
            {
                if (response.Resources.Count != _changedPerUpdate)
                {
                    throw new InvalidOperationException($"Expected {_changedPerUpdate} changed resources, got {response}.");
                }

                _states[stream] = _states[stream].ApplyResponse(response);
                _fired++;
            };
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _cache?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "open W watches + SetSnapshot(1% changed)")]
    public int UpdateCycle()
    {
        _fired = 0;
        for (var i = 0; i < _states.Length; i++)
        {
            // An answered watch removes itself from the cache; disposing it afterwards would do nothing.
            _cache.CreateWatch(new WatchRequest(_node, _states[i]), _callbacks[i]);
        }

        var builder = _current.ToBuilder();
        foreach (var resource in _revisions[_cycle++ % 2])
        {
            builder.Set(resource);
        }

        _current = builder.Build();
        _cache.SetSnapshot(ResourceFactory.GroupKey, _current);
        return _fired == _states.Length
            ? _fired
            : throw new InvalidOperationException($"{_fired} of {_states.Length} watches fired.");
    }
}
