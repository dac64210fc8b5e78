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
/// loop takes it, drops it if its state changed meanwhile, records it (<c>ApplyResponse</c>) and, on the client's ACK (taken as
/// immediate), re-arms (a new one-shot <c>CreateWatch</c>, which evaluates once more against the current set: nothing new).</item>
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
/// <para><b>Results</b> (short job, one run, 2 cores shared with other builds: load average about 21, so the
/// Error column is 30-100 % of the Mean in many rows; read the ratios, which point the same way at every W and
/// subscription; Mean and Ratio as "names / *"; Allocated is the same for both subscriptions):</para>
/// <code>
/// Method             W        Mean (names / *)       Allocated  Ratio (names / *)
/// TodaySetSnapshot   100      629 us / 1,266 us        70.8 KB  1.00
/// SignalSetSnapshot  100      11.8 us / 11.0 us          32 B   0.02 / 0.009
/// TodaySetSnapshot   1,000    7.92 ms / 3.07 ms         697 KB  1.00
/// SignalSetSnapshot  1,000    113 us / 126 us            32 B   0.02 / 0.04
/// TodaySetSnapshot   10,000   48.8 ms / 39.8 ms         7.0 MB  1.00
/// SignalSetSnapshot  10,000   1.92 ms / 2.28 ms          32 B   0.04 / 0.06
/// TodayCycle         100      706 us / 549 us           147 KB  1.00
/// SignalCycle        100      300 us / 329 us          88.6 KB  0.52 / 0.65
/// TodayCycle         1,000    3.84 ms / 3.40 ms        1.35 MB  1.00
/// SignalCycle        1,000    3.41 ms / 2.63 ms        0.79 MB  0.90 / 0.78
/// TodayCycle         10,000   90.3 ms / 74.5 ms        13.6 MB  1.00
/// SignalCycle        10,000   39.2 ms / 31.2 ms        7.87 MB  0.44 / 0.42
/// TodaySlowStream    100      611 us / 694 us           282 KB  1.00
/// SignalSlowStream   100      263 us / 181 us          95.8 KB  0.45 / 0.29
/// TodaySlowStream    1,000    13.1 ms / 8.45 ms        2.60 MB  1.00
/// SignalSlowStream   1,000    4.98 ms / 3.08 ms        0.80 MB  0.39 / 0.40
/// TodaySlowStream    10,000   149 ms / 86.2 ms         26.0 MB  1.00
/// SignalSlowStream   10,000   47.3 ms / 56.8 ms        7.87 MB  0.33 / 0.69
/// </code>
/// <para>A second run of the Cycle methods with <c>--iterationCount 15</c> (same load): Signal/Today 0.60 / 0.54
/// at W = 100, 0.94 / 0.59 at 1,000, 0.45 / 0.71 at 10,000 (names / *; RatioSD 0.09-0.24).</para>
/// <para>Computations per stream (<c>ResponseComputer.Compute</c>, counted in every run and printed at cleanup):
/// one update, Today 2 (the answer, then the re-arm's evaluation that finds nothing), Signal 1; two updates
/// before the loop runs, Today 3 with 2 responses sent (the first already superseded, the second only after the
/// client's ACK of it re-arms the watch), Signal 1 with 1 response, the newest.</para>
/// <para><b>Decision: switch to signalling.</b> Reasons:</para>
/// <list type="bullet">
/// <item>Setter thread: today <c>SetSnapshot</c> costs W computations before it returns (40-49 ms at 10,000
/// streams; every other group's update, and the next one of this group, waits behind it); signalling costs W flag
/// sets (about 2 ms at 10,000; 17-110x less at every W) and allocates nothing per stream.</item>
/// <item>CPU: the total is lower, not just moved: no second evaluation on re-arm, no one-shot watch, request,
/// closure and slot per update (allocations 0.58-0.60x). Over both runs 0.42-0.71x at 10,000 streams, 0.59-0.94x
/// at 1,000, 0.52-0.65x at 100; never above Today, though at 1,000 by names within noise of equal.</item>
/// <item>Latest wins by construction: a stream computes against the set in force when it is ready to send, so a
/// slow stream skips the versions it missed (1 computation, 1 send, instead of 3 and 2; 0.3-0.7x CPU). Today a
/// one-shot watch answered with v1 makes the stream send v1 although v2 is set, and v2 only after the ACK.</item>
/// <item>Less state, fewer rules: the generation counter and the state-identity check exist because a response is
/// computed on another thread from a state the loop may since have replaced; the loop computing from its own state
/// cannot be stale. <c>EvaluateAll</c>'s "a newer update started, use the newest set" fallback goes: a later
/// update only sets the flag again. Delta <c>initial_resource_versions</c> folding needs no empty response to
/// carry it back and no re-arm: the loop folds right after its own computation.</item>
/// <item>Memory: today up to one pending response (its resource list included: a whole first or SotW full-state
/// answer) per type per stream, computed even for a stalled client that will not read it; signalling holds one
/// flag and one registration per type per stream, and a response exists only while it is sent.</item>
/// <item>Fairness: today the setter answers W streams one after another on one thread, so the last stream waits
/// for all W computations (40-49 ms at 10,000); signalled, every loop is woken within the flag pass and the
/// computations run in parallel on the thread pool, each stream paying for its own. Make-before-break gets easier:
/// the loop can read one snapshot and compute every changed type against it.</item>
/// </list>
/// <para>Costs to carry: <c>IConfigWatcher.CreateWatch</c> is shipped public API; the built-in caches
/// (SnapshotCache, LinearCache, MuxCache) would offer the signal form (a registration per (node, type) that signals
/// "changed" and reads the current set/snapshot), and a custom cache that only answers computed watches keeps
/// working behind an adapter that holds its answer until the loop asks (the generation check then lives in that
/// adapter only). The stream must compute after its own requests change its state (it re-arms for that today).
/// The prototype reads the current set under the group lock; the real one can read an immutable snapshot
/// reference without one.</para>
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
    public void CheckChanged(WatchResponse response)
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
        Fleet.CheckChanged(response);
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
