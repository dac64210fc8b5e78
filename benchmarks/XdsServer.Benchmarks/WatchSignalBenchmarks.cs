using System.Collections.Concurrent;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Envoy.Config.Core.V3;
using XdsServer.Cache;
using XdsServer.Cache.Internal;

namespace XdsServer.Benchmarks;

/// <summary>
/// Two ways for a snapshot update to reach W state-of-the-world EDS streams, as one update costs in total CPU
/// until every stream holds its response. The group's snapshot holds 1,000 EDS clusters and their 1,000 load
/// assignments; every stream subscribes to all of them, by name or with the wildcard, and holds the current
/// version. Both designs run on one thread: the setter, then each stream's loop in turn (so the Mean is the CPU
/// the update costs, whichever threads would pay it). Sending, encoding and the client's ACK are left out: they
/// are the same in both designs.
/// <list type="bullet">
/// <item><b>Today</b> (<c>SnapshotCache</c>, real): <c>SetSnapshot</c> computes each open watch's response
/// (<c>ResponseComputer.Compute</c>) on the setter's thread and hands it to the stream, which stores it in a slot
/// under a lock with a watch generation (a late answer of a replaced watch is refused) and is woken. The stream's
/// loop takes it, drops it if its state changed meanwhile, records it (<c>ApplyResponse</c>) and re-arms (a new
/// one-shot <c>CreateWatch</c>, which evaluates once more against the current set: nothing new).</item>
/// <item><b>Signal</b> (prototype: <see cref="SignalCache"/>): a stream registers once per (group, type);
/// <c>SetSnapshot</c> only swaps the snapshot and sets a "type changed" flag on each registration of a changed
/// type (waking the stream when the flag was clear). The stream's loop, when it is ready to send, reads the
/// current set and computes its own response from its own state. No generation, no state-identity check, no
/// re-arm, nothing pending.</item>
/// </list>
/// Methods: <c>Cycle</c>, derive the next snapshot (1 % = 10 load assignments changed, resources serialized in
/// setup, cycling through three revisions) + set it + every stream holds its response; <c>SlowStream</c>, two
/// updates land before any stream's loop runs (the stream was busy writing), then every stream catches up.
/// Setter latency alone is <see cref="WatchSignalSetterBenchmarks"/>. Every operation checks that each stream
/// recorded responses of exactly the 10 changed resources, and as many as the design should.
/// <para><b>Results</b> (short job, 2 shared cores; Ratio = Signal / Today within each category):</para>
/// <code>
/// RESULTS_PLACEHOLDER
/// </code>
/// <para><b>Decision: RESULTS_DECISION</b></para>
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class WatchSignalBenchmarks
{
    private Fleet _fleet = null!;

    [Params(100, 1_000, 10_000)]
    public int Watches { get; set; }

    /// <summary>"names": each stream subscribes to the 1,000 names; "*": to the wildcard.</summary>
    [Params("names", "*")]
    public string Subscription { get; set; } = "names";

    [GlobalSetup(Targets = [nameof(TodayCycle), nameof(TodaySlowStream)])]
    public void SetupToday() => _fleet = Fleet.Check(new TodayFleet(groups: 1, Watches, Subscription));

    [GlobalSetup(Targets = [nameof(SignalCycle), nameof(SignalSlowStream)])]
    public void SetupSignal() => _fleet = Fleet.Check(new SignalFleet(groups: 1, Watches, Subscription));

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// {_fleet.Report()}");
        _fleet.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Cycle")]
    public long TodayCycle() => _fleet.Cycle(updates: 1);

    [Benchmark]
    [BenchmarkCategory("Cycle")]
    public long SignalCycle() => _fleet.Cycle(updates: 1);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("SlowStream")]
    public long TodaySlowStream() => _fleet.Cycle(updates: 2);

    [Benchmark]
    [BenchmarkCategory("SlowStream")]
    public long SignalSlowStream() => _fleet.Cycle(updates: 2);
}

/// <summary>
/// Setter latency: the time <c>SetSnapshot</c> takes to return, which is what the next update (of this group or,
/// with one setter thread, of every other group) waits behind. The fleets of <see cref="WatchSignalBenchmarks"/>,
/// with 10 groups sharing the snapshots (W streams each); one operation is one group's <c>SetSnapshot</c>. In
/// iteration setup (not measured): the streams' loops consume the previous update (Today: record and re-arm
/// every watch), and the next snapshot is derived. Snapshot validation is off in both (it is the same work).
/// </summary>
[InvocationCount(1, 1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class WatchSignalSetterBenchmarks
{
    private const int Groups = 10;
    private Fleet _fleet = null!;
    private Snapshot _next = null!;

    [Params(100, 1_000, 10_000)]
    public int Watches { get; set; }

    /// <summary>"names": each stream subscribes to the 1,000 names; "*": to the wildcard.</summary>
    [Params("names", "*")]
    public string Subscription { get; set; } = "names";

    [GlobalSetup(Target = nameof(TodaySetSnapshot))]
    public void SetupToday() => _fleet = Fleet.Check(new TodayFleet(Groups, Watches, Subscription));

    [GlobalSetup(Target = nameof(SignalSetSnapshot))]
    public void SetupSignal() => _fleet = Fleet.Check(new SignalFleet(Groups, Watches, Subscription));

    [GlobalCleanup]
    public void Cleanup() => _fleet.Dispose();

    [IterationSetup]
    public void ConsumeAndDerive()
    {
        _fleet.RunStreams();
        _next = _fleet.Next();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Groups)]
    public void TodaySetSnapshot() => _fleet.SetAll(_next);

    [Benchmark(OperationsPerInvoke = Groups)]
    public void SignalSetSnapshot() => _fleet.SetAll(_next);
}

/// <summary>G groups of W streams with one ClusterLoadAssignment subscription each, and the update source.</summary>
internal abstract class Fleet : IDisposable
{
    private const int Services = 1_000;
    private const double ChangedPercent = 1;
    private readonly XdsResource[][] _revisions;
    private readonly List<StreamModel> _streams = [];
    private int _cycle;
    private (int Updates, long Computations, long Answers, long Applied) _lastOperation;

    protected Fleet(int groups, int watches, string subscription)
    {
        var builder = Snapshot.CreateBuilder();
        for (var i = 0; i < Services; i++)
        {
            builder.Add(ResourceFactory.EdsCluster(i)).Add(ResourceFactory.LoadAssignment(i, revision: 0));
        }

        Current = builder.Build();
        // Three revisions, so that two updates in a row never come back to what a stream holds.
        _revisions = [.. Enumerable.Range(1, 3).Select(r =>
            ResourceFactory.ChangedLoadAssignments(Services, ChangedPercent, r).Select(m => XdsResource.Create(m)).ToArray())];
        ChangedPerUpdate = _revisions[0].Length;
        GroupKeys = [.. Enumerable.Range(0, groups).Select(g => $"{ResourceFactory.GroupKey}-{g}")];
        Watches = watches;

        // Every stream starts from the same immutable state, holding the whole set: computed once, shared.
        string[] names = subscription == "*" ? ["*"] : [.. Enumerable.Range(0, Services).Select(ResourceFactory.ServiceName)];
        var requested = ClientState.ForSotw(EnvoyResourceTypes.ClusterLoadAssignment).ApplySotwRequest(names);
        var set = ResourceFactory.LoadAssignmentsOf(Current);
        var first = ResponseComputer.Compute(requested, set);
        if (first is null || first.Resources.Count != Services)
        {
            throw new InvalidOperationException($"The first response should carry all {Services} load assignments: {first}.");
        }

        Initial = requested.ApplyResponse(first);
        Name = $"{GetType().Name} W={watches} {subscription}";
    }

    public Snapshot Current { get; private set; }

    public int ChangedPerUpdate { get; }

    public int Watches { get; }

    public string[] GroupKeys { get; }

    public ClientState Initial { get; }

    public string Name { get; }

    public long Computations => _streams.Sum(s => (long)s.Computations) + ExtraComputations;

    public long Answers => _streams.Sum(s => (long)s.Answers);

    public long Applied => _streams.Sum(s => (long)s.Applied);

    public long Updates { get; private set; }

    /// <summary>Computations the streams do not count themselves (Today: the cache's).</summary>
    protected virtual long ExtraComputations => 0;

    /// <summary>Responses each stream records per operation of <paramref name="updates"/> updates.</summary>
    public abstract int AppliedPer(int updates);

    public static Fleet Check(Fleet fleet)
    {
        // One update and two in a row: every stream records what the design says, with the 10 changed resources.
        fleet.Cycle(1);
        fleet.Cycle(2);
        return fleet;
    }

    public Snapshot Next()
    {
        var builder = Current.ToBuilder();
        foreach (var resource in _revisions[_cycle++ % _revisions.Length])
        {
            builder.Set(resource);
        }

        return Current = builder.Build();
    }

    public void SetAll(Snapshot snapshot)
    {
        foreach (var group in GroupKeys)
        {
            Set(group, snapshot);
        }

        Updates++;
    }

    /// <summary><paramref name="updates"/> updates, then every stream's loop runs until it has nothing to do.</summary>
    public long Cycle(int updates)
    {
        var (before, computations, answers) = (Applied, Computations, Answers);
        for (var i = 0; i < updates; i++)
        {
            SetAll(Next());
        }

        RunStreams();
        var applied = Applied - before;
        _lastOperation = (updates, Computations - computations, Answers - answers, applied);
        var expected = (long)AppliedPer(updates) * _streams.Count;
        return applied == expected
            ? applied
            : throw new InvalidOperationException($"{Name}: {applied} responses recorded after {updates} update(s), expected {expected}.");
    }

    public void RunStreams()
    {
        foreach (var stream in _streams)
        {
            stream.RunLoop();
        }
    }

    /// <summary>What each stream did in the last operation (one process runs one method, so: in each).</summary>
    public string Report()
    {
        var (updates, computations, answers, applied) = _lastOperation;
        double streams = _streams.Count;
        return $"{Name}, {updates} update(s) before the loops ran, per stream: {computations / streams:F2} computations "
            + $"(ResponseComputer.Compute), {answers / streams:F2} responses computed, {applied / streams:F2} recorded";
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    protected void Add(StreamModel stream) => _streams.Add(stream);

    protected abstract void Set(string group, Snapshot snapshot);

    /// <summary>Records a response as sent, checking it carries exactly what changed.</summary>
    public void Check(WatchResponse response)
    {
        if (response.Resources.Count != ChangedPerUpdate)
        {
            throw new InvalidOperationException($"{Name}: expected {ChangedPerUpdate} changed resources, got {response}.");
        }
    }
}

/// <summary>
/// What both designs share on a stream: the client state (owned by the loop) and the wake-up as the server
/// does it today (one flag, one item in the loop's channel per wake).
/// </summary>
internal abstract class StreamModel(Fleet fleet)
{
    private static readonly object WakeItem = new();
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private int _wakeScheduled;

    protected Fleet Fleet { get; } = fleet;

    public ClientState State { get; protected set; } = fleet.Initial;

    public int Computations { get; protected set; }

    public int Answers;

    public int Applied { get; private set; }

    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakeScheduled, 1) == 0)
        {
            _inbox.Writer.TryWrite(WakeItem);
        }
    }

    /// <summary>The stream's loop, from a wake-up until it has nothing left to do.</summary>
    public void RunLoop()
    {
        while (_inbox.Reader.TryRead(out _))
        {
            Volatile.Write(ref _wakeScheduled, 0);
            OnWake();
        }
    }

    protected abstract void OnWake();

    /// <summary>The response was sent: the client holds it.</summary>
    protected void Record(WatchResponse response)
    {
        Fleet.Check(response);
        State = State.ApplyResponse(response);
        Applied++;
    }
}

/// <summary>Today's design over the real <see cref="SnapshotCache"/>: one-shot watches answered with a computed
/// response, a slot with a generation as <c>TypeSlot</c> has, re-armed after each response.</summary>
internal sealed class TodayFleet : Fleet
{
    private readonly SnapshotCache _cache = new(new SnapshotCacheOptions { RejectInvalidSnapshots = false });

    public TodayFleet(int groups, int watches, string subscription)
        : base(groups, watches, subscription)
    {
        foreach (var group in GroupKeys)
        {
            _cache.SetSnapshot(group, Current);
            var node = new Node { Id = group, Cluster = "bench" };
            for (var i = 0; i < watches; i++)
            {
                var stream = new TodayStream(this, _cache, node);
                stream.Arm();
                Add(stream);
            }
        }
    }

    protected override long ExtraComputations => _cache.Evaluations.Of(TypeUrls.ClusterLoadAssignment);

    // The watch answers the first update; the second finds no watch (it is one-shot). The loop then sends the
    // first, re-arms, and the new watch answers the second at once: two responses.
    public override int AppliedPer(int updates) => updates;

    protected override void Set(string group, Snapshot snapshot) => _cache.SetSnapshot(group, snapshot);

    public override void Dispose()
    {
        _cache.Dispose();
        base.Dispose();
    }

    private sealed class TodayStream(Fleet fleet, SnapshotCache cache, Node node) : StreamModel(fleet)
    {
        private readonly Lock _gate = new();
        private WatchResponse? _pending;
        private long _generation;
        private IDisposable? _watch;

        /// <summary>As <c>XdsStream.Rearm</c>: cancel, new generation, new one-shot watch.</summary>
        public void Arm()
        {
            _watch?.Dispose();
            long generation;
            lock (_gate)
            {
                _pending = null;
                generation = ++_generation;
            }

            _watch = cache.CreateWatch(new WatchRequest(node, State), response =>
            {
                Interlocked.Increment(ref Answers);
                lock (_gate)
                {
                    if (generation == _generation)
                    {
                        _pending = response;
                    }
                }

                Wake();
            });
        }

        protected override void OnWake()
        {
            WatchResponse? response;
            lock (_gate)
            {
                response = _pending;
                _pending = null;
            }

            if (response is null)
            {
                return;
            }

            _watch = null; // it answered: it is done
            if (!ReferenceEquals(response.State, State))
            {
                return; // computed for a state a later request replaced
            }

            Record(response);
            Arm(); // on the client's ACK; the ACK's own handling is the same in both designs and left out
        }
    }
}

/// <summary>The signal-only design: persistent registrations, a flag per (stream, type), the stream computes.</summary>
internal sealed class SignalFleet : Fleet
{
    private readonly SignalCache _cache = new();

    public SignalFleet(int groups, int watches, string subscription)
        : base(groups, watches, subscription)
    {
        foreach (var group in GroupKeys)
        {
            _cache.SetSnapshot(group, Current);
            for (var i = 0; i < watches; i++)
            {
                var stream = new SignalStream(this);
                stream.Registration = _cache.Register(group, TypeUrls.ClusterLoadAssignment, stream);
                Add(stream);
            }
        }
    }

    // However many updates landed before the loop ran, it computes once, against the newest set.
    public override int AppliedPer(int updates) => 1;

    protected override void Set(string group, Snapshot snapshot) => _cache.SetSnapshot(group, snapshot);

    private sealed class SignalStream(Fleet fleet) : StreamModel(fleet), ISignalTarget
    {
        private int _changed;

        public SignalCache.Registration Registration { get; set; } = null!;

        public void Signal()
        {
            // Set the flag; only the first signal since the loop last looked wakes it.
            if (Interlocked.Exchange(ref _changed, 1) == 0)
            {
                Wake();
            }
        }

        protected override void OnWake()
        {
            if (Interlocked.Exchange(ref _changed, 0) == 0 || Registration.CurrentSet() is not { } set)
            {
                return;
            }

            Computations++;
            var response = ResponseComputer.Compute(State, set);
            if (response is not null)
            {
                Answers++;
                Record(response);
            }
        }
    }
}

/// <summary>What a signal-only cache tells a stream: "the set of your type changed".</summary>
internal interface ISignalTarget
{
    void Signal();
}

/// <summary>
/// Prototype of a signal-only snapshot cache: a snapshot per group and, per (group, type), the registrations
/// to signal when that type's set changes. The setter computes nothing: it swaps the snapshot and signals.
/// Registrations are copy-on-write arrays so the setter signals outside the lock without copying.
/// </summary>
internal sealed class SignalCache
{
    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);

    public void SetSnapshot(string group, Snapshot snapshot)
    {
        var g = _groups.GetOrAdd(group, static _ => new Group());
        ISignalTarget[]? only = null;
        List<ISignalTarget[]>? more = null;
        lock (g.Gate)
        {
            var old = g.Snapshot;
            g.Snapshot = snapshot;
            foreach (var (typeUrl, registered) in g.Registrations)
            {
                // An unchanged set (same reference) cannot tell any stream something new.
                if (snapshot.GetResources(typeUrl) is { } set && !ReferenceEquals(old?.GetResources(typeUrl), set))
                {
                    if (only is null)
                    {
                        only = registered;
                    }
                    else
                    {
                        (more ??= []).Add(registered);
                    }
                }
            }
        }

        foreach (var target in only ?? [])
        {
            target.Signal();
        }

        foreach (var targets in more ?? [])
        {
            foreach (var target in targets)
            {
                target.Signal();
            }
        }
    }

    public Registration Register(string group, string typeUrl, ISignalTarget target)
    {
        var g = _groups.GetOrAdd(group, static _ => new Group());
        lock (g.Gate)
        {
            g.Registrations[typeUrl] = g.Registrations.TryGetValue(typeUrl, out var registered) ? [.. registered, target] : [target];
        }

        return new Registration(g, typeUrl);
    }

    internal sealed class Group
    {
        public readonly Lock Gate = new();
        public readonly Dictionary<string, ISignalTarget[]> Registrations = new(StringComparer.Ordinal);
        public Snapshot? Snapshot;
    }

    /// <summary>A stream's handle on (group, type): reads the set in force when the stream is ready.</summary>
    internal sealed class Registration(Group group, string typeUrl)
    {
        public ResourceSet? CurrentSet()
        {
            lock (group.Gate)
            {
                return group.Snapshot?.GetResources(typeUrl);
            }
        }
    }
}
