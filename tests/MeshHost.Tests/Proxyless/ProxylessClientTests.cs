using Grpc.Core;
using MeshHost.Generation;
using XdsServer.Testing.Interop;
using Xunit.Abstractions;

namespace MeshHost.Tests.Proxyless;

/// <summary>
/// The three real proxyless clients of <c>tests/clients</c> (grpc-js-xds 1.14, python3-grpcio 1.51 on C-core,
/// Grpc.Core 2.46.5 on C-core 1.46) against the MeshHost running on a folder of manifests
/// (<see cref="ProxylessMesh"/>): each case runs for every client, makes real calls to loopback backends, and
/// fails if the client rejected (NACKed) any configuration the host sent it.
/// </summary>
[Collection(nameof(ProxylessMesh))]
public sealed class ProxylessClientTests(ProxylessMesh mesh, ITestOutputHelper output)
{
    /// <summary>How long a manifest edit may take to reach a calling client: the folder watch (100 ms debounce,
    /// 1 s rescan), the push (at most 1 s debounce) and the client's xDS stream, with room for a busy machine.</summary>
    private static readonly TimeSpan EditBound = TimeSpan.FromSeconds(15);

    public static TheoryData<string> Clients => new(XdsClientRunner.All.Select(r => r.Name));

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Each_client_is_told_apart_by_its_user_agent(string client)
    {
        var runner = XdsClientRunner.Get(client);
        var run = mesh.Run(runner, "xds:///split:7070", 0);
        await using var session = runner.Start(run);
        await session.NextAsync(TimeSpan.FromSeconds(20), "a first call");
        var proxy = mesh.Connected(run) ?? throw new InvalidOperationException($"{run.Bootstrap.NodeId} is not connected");
        output.WriteLine($"{client}: user_agent_name '{proxy.UserAgentName}', user_agent_version '{proxy.UserAgentVersion}'");

        var expected = client switch
        {
            "grpc-js" => new GrpcClient(GrpcLibrary.GrpcJs, new Version(1, 14)),
            "python-grpcio" => new GrpcClient(GrpcLibrary.CCore, new Version(1, 51)),
            _ => new GrpcClient(GrpcLibrary.CCore, new Version(1, 46)),
        };
        Assert.Equal(expected, GrpcClient.Of(proxy));
        Assert.Equal(client != "grpc-js", GrpcClient.Of(proxy).NeedsLegacyHeaderMatchers);
        mesh.AssertNoNacks(run);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Calls_split_80_20_over_the_subsets_as_the_virtual_service_says(string client)
    {
        const int Calls = 200;
        var runner = XdsClientRunner.Get(client);
        var run = mesh.Run(runner, "xds:///split:7070", Calls);
        var outcomes = await runner.RunAsync(run);

        mesh.AssertNoNacks(run);
        Assert.All(outcomes, o => Assert.True(o.Ok, o.ToString()));
        var v2 = outcomes.Count(o => o.Backend == "split-v2") / (double)Calls;
        output.WriteLine($"{client}: split-v2 took {v2:P1} of {Calls} calls");
        // 20% ± 12 points: more than 4 standard deviations (2.8 points for 200 calls), so a correct 80/20 split
        // fails about once in 40 000 runs; an even split (50%) or all-to-one (0% or 100%) always fails.
        Assert.InRange(v2, 0.08, 0.32);
        Assert.All(outcomes, o => Assert.Contains(o.Backend, new[] { "split-v1", "split-v2" }));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_header_match_sends_every_call_to_its_subset(string client)
    {
        var runner = XdsClientRunner.Get(client);
        var run = mesh.Run(runner, "xds:///split:7070", 10) with { Headers = new Dictionary<string, string> { ["x-variant"] = "canary" } };
        var outcomes = await runner.RunAsync(run);

        mesh.AssertNoNacks(run);
        // A client ignoring the header would send each call to split-v2 with p = 0.2: all 10 by chance, 1e-7.
        Assert.True(outcomes.All(o => o.Backend == "split-v2"), $"{client}: want every call at split-v2: {string.Join("; ", outcomes)}");
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_fault_abort_fails_every_call_with_its_status_before_the_backend(string client)
    {
        var runner = XdsClientRunner.Get(client);
        var before = mesh.Backend("faulty-v1").Calls;
        var run = mesh.Run(runner, "xds:///faulty:7070", 3);
        var outcomes = await runner.RunAsync(run);

        mesh.AssertNoNacks(run);
        Assert.All(outcomes, o => Assert.Equal(StatusCode.PermissionDenied, o.Code));
        Assert.Equal(before, mesh.Backend("faulty-v1").Calls);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_virtual_service_timeout_ends_a_slow_call_with_DEADLINE_EXCEEDED(string client)
    {
        var runner = XdsClientRunner.Get(client);
        var before = mesh.Backend("slow-v1").Calls;
        // The call's own deadline (10 s) is well past the backend's 3 s: only the route's 2 s timeout
        // (max_stream_duration) can end it with DEADLINE_EXCEEDED.
        var run = mesh.Run(runner, "xds:///slow:7070", 2) with { Deadline = TimeSpan.FromSeconds(10) };
        var outcomes = await runner.RunAsync(run);

        output.WriteLine($"{client}: {string.Join("; ", outcomes)}");
        mesh.AssertNoNacks(run);
        Assert.All(outcomes, o => Assert.Equal(StatusCode.DeadlineExceeded, o.Code));
        // grpc-js sends both calls to the backend and ends them 2 s later. C-core may end the first call before it is
        // sent (its clock starts before the xDS resolution and runs 1 s fast); the second, on a ready connection,
        // reaches the backend.
        var reached = mesh.Backend("slow-v1").Calls - before;
        Assert.True(client == "grpc-js" ? reached == 2 : reached >= 1, $"{client}: {reached} of 2 calls reached the slow backend");
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_pod_edit_moves_the_calls_of_a_running_client(string client)
    {
        var runner = XdsClientRunner.Get(client);
        mesh.Write(ProxylessMesh.MovingPods, mesh.Pod("moving-a", "moving", null));
        var run = mesh.Run(runner, "xds:///moving:7070", 0) with { Interval = TimeSpan.FromMilliseconds(20), Deadline = TimeSpan.FromSeconds(2) };
        await using var session = runner.Start(run);
        await session.WaitForAsync(o => o.Backend == "moving-a", 5, TimeSpan.FromSeconds(30), "calls at moving-a");

        mesh.Write(ProxylessMesh.MovingPods, mesh.Pod("moving-b", "moving", null));
        await session.WaitForAsync(o => o.Backend == "moving-b", 10, EditBound, "calls at moving-b after the Pod moved");
        mesh.AssertNoNacks(run);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_destination_rule_subset_removed_then_added_fails_then_restores_its_calls(string client)
    {
        var runner = XdsClientRunner.Get(client);
        mesh.Write(ProxylessMesh.SubsetsRule, ProxylessMesh.SubsetsDestinationRule("v1", "v2"));
        mesh.Write(ProxylessMesh.SubsetsRoutes, ProxylessMesh.SubsetsVirtualService("v2"));
        var run = mesh.Run(runner, "xds:///subsets:7070", 0) with { Interval = TimeSpan.FromMilliseconds(20), Deadline = TimeSpan.FromSeconds(2) };
        await using var session = runner.Start(run);
        await session.WaitForAsync(o => o.Backend == "subsets-v2", 5, TimeSpan.FromSeconds(30), "calls at subset v2");

        // Without subset v2 the route's cluster has no endpoints (istiod: no such cluster): calls fail.
        mesh.Write(ProxylessMesh.SubsetsRule, ProxylessMesh.SubsetsDestinationRule("v1"));
        var failed = await session.WaitForAsync(o => !o.Ok, 5, EditBound, "failing calls once subset v2 is gone");
        Assert.Equal(StatusCode.Unavailable, failed[^1].Code);
        Assert.DoesNotContain(failed, o => o.Backend == "subsets-v1");

        mesh.Write(ProxylessMesh.SubsetsRule, ProxylessMesh.SubsetsDestinationRule("v1", "v2"));
        await session.WaitForAsync(o => o.Backend == "subsets-v2", 10, EditBound, "calls at subset v2 once it is back");
        mesh.AssertNoNacks(run);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_virtual_service_edit_moves_the_calls_of_a_running_client(string client)
    {
        var runner = XdsClientRunner.Get(client);
        mesh.Write(ProxylessMesh.SubsetsRule, ProxylessMesh.SubsetsDestinationRule("v1", "v2"));
        mesh.Write(ProxylessMesh.SubsetsRoutes, ProxylessMesh.SubsetsVirtualService("v1"));
        var run = mesh.Run(runner, "xds:///subsets:7070", 0) with { Interval = TimeSpan.FromMilliseconds(20), Deadline = TimeSpan.FromSeconds(2) };
        await using var session = runner.Start(run);
        await session.WaitForAsync(o => o.Backend == "subsets-v1", 5, TimeSpan.FromSeconds(30), "calls at subset v1");

        mesh.Write(ProxylessMesh.SubsetsRoutes, ProxylessMesh.SubsetsVirtualService("v2"));
        var moved = await session.WaitForAsync(o => o.Backend == "subsets-v2", 10, EditBound, "calls at subset v2 after the edit");
        Assert.All(moved, o => Assert.True(o.Ok, $"a call failed while the route moved: {o}"));
        mesh.AssertNoNacks(run);
    }
}
