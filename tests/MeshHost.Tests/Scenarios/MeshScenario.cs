using MeshHost.Generation;
using MeshHost.Model;
using MeshHost.Tests.Simulation;
using Xunit.Abstractions;
using RouteProto = Envoy.Config.Route.V3.Route;

namespace MeshHost.Tests.Scenarios;

/// <summary>The proxy a scenario generates configuration for, as istio-agent would describe it.</summary>
/// <param name="Ip">The pod IP.</param>
/// <param name="Pod">The pod name.</param>
/// <param name="Namespace">The pod namespace.</param>
/// <param name="Labels">The pod labels.</param>
/// <param name="Type"><c>sidecar</c> or <c>router</c> (a gateway).</param>
/// <param name="ServiceAccount">The service account.</param>
public sealed record ScenarioProxy(string Ip, string Pod, string Namespace, IReadOnlyDictionary<string, string> Labels, string Type = "sidecar",
    string? ServiceAccount = null)
{
    /// <summary>The proxy as the host parses its node.</summary>
    public Proxy ToProxy() => MeshFixture.Proxy(Ip, Pod, Namespace, Labels, Type, ServiceAccount);

    /// <inheritdoc />
    public override string ToString() => $"{Type} {Pod}.{Namespace}";
}

/// <summary>One call of a scenario and what must come of it.</summary>
/// <param name="Call">The request or connection.</param>
/// <param name="Expect">The outcome (fields left null are not checked).</param>
/// <param name="Route">Further checks on the route the call took (found by virtual host and route name); returns a
/// problem or null.</param>
public sealed record ScenarioCall(SimulatedCall Call, SimulationExpectation Expect, Func<RouteProto, string?>? Route = null);

/// <summary>
/// One table-driven case in the manner of istiod's pilot/pkg/simulation tests: manifests, a proxy, and calls with
/// their expected outcomes. The configuration is generated with <see cref="MeshGenerator.Generate"/> and every call
/// is walked through it with <see cref="Simulator"/>. Serialised by name only, so each case is its own entry in the
/// test explorer.
/// </summary>
public sealed record MeshScenario : IXunitSerializable
{
    /// <summary>For xunit's deserialiser, and for <c>with</c> expressions in the tables.</summary>
    public MeshScenario()
    {
    }

    /// <summary>A scenario named <paramref name="name"/> (unique across all tables: it is how the case is found again).</summary>
    public MeshScenario(string name) => Name = name;

    /// <summary>The name shown in the test explorer.</summary>
    public string Name { get; private set; } = string.Empty;

    /// <summary>The manifests (Kubernetes and Istio YAML documents).</summary>
    public string Yaml { get; init; } = string.Empty;

    /// <summary>The proxy the configuration is generated for.</summary>
    public ScenarioProxy Proxy { get; init; } = Bookinfo.Sleep;

    /// <summary>The mesh settings.</summary>
    public MeshOptions Options { get; init; } = new();

    /// <summary>The calls, each with its expectation.</summary>
    public IReadOnlyList<ScenarioCall> Calls { get; init; } = [];

    /// <summary>Substrings that must each appear in some <c>context.Problems</c> entry (<c>kind/namespace/name: reason</c>)
    /// after generation; null does not check, empty requires no problem at all.</summary>
    public IReadOnlyList<string>? Problems { get; init; } = [];

    /// <summary>A further check on the generated configuration: returns a problem, or null when it holds.</summary>
    public Func<Simulator, string?>? Check { get; init; }

    /// <summary>The scenarios as theory data.</summary>
    public static TheoryData<MeshScenario> Table(IEnumerable<MeshScenario> scenarios)
    {
        var data = new TheoryData<MeshScenario>();
        foreach (var scenario in scenarios)
        {
            data.Add(scenario);
        }
        return data;
    }

    /// <summary>Generates the proxy's configuration, runs every call and fails with every difference found. A case
    /// that xunit deserialised carries its name only: the full case is looked up in <see cref="ScenarioTables"/>.</summary>
    public async Task RunAsync()
    {
        if (Calls.Count == 0 && Check is null && Yaml.Length == 0)
        {
            await ScenarioTables.Find(Name).RunAsync();
            return;
        }
        var context = await MeshFixture.LoadAsync(Yaml, Options);
        var simulator = Simulator.For(context, Proxy.ToProxy());
        var failures = new List<string>();
        foreach (var (call, index) in Calls.Select((c, i) => (c, i)))
        {
            var result = simulator.Run(call.Call);
            var problems = call.Expect.Mismatches(result).ToList();
            if (problems.Count == 0 && call.Route is not null)
            {
                var route = FindRoute(simulator, result);
                var problem = route is null ? "the route taken was not found (give the VirtualService route a name)" : call.Route(route);
                if (problem is not null)
                {
                    problems.Add("route: " + problem);
                }
            }
            if (problems.Count > 0)
            {
                failures.Add($"call {index + 1}: {string.Join("; ", problems)}{Environment.NewLine}{result}");
            }
        }
        if (Check?.Invoke(simulator) is { } failed)
        {
            failures.Add("check: " + failed);
        }
        var reported = context.Problems.Select(p => p.ToString()).ToList();
        if (Problems is { Count: 0 } && reported.Count > 0)
        {
            failures.Add("unexpected config problems: " + string.Join("; ", reported));
        }
        foreach (var want in Problems ?? [])
        {
            if (!reported.Any(p => p.Contains(want, StringComparison.Ordinal)))
            {
                failures.Add($"no config problem mentions \"{want}\"; reported: {(reported.Count == 0 ? "(none)" : string.Join("; ", reported))}");
            }
        }
        if (failures.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"{Name} ({Proxy}):{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        }
    }

    private static RouteProto? FindRoute(Simulator simulator, SimulationResult result) =>
        result.RouteConfig is { } name && simulator.Routes.TryGetValue(name, out var config)
            ? config.VirtualHosts.FirstOrDefault(v => v.Name == result.VirtualHost)?.Routes.FirstOrDefault(r => r.Name == result.Route)
            : null;

    void IXunitSerializable.Serialize(IXunitSerializationInfo info) => info.AddValue(nameof(Name), Name);

    void IXunitSerializable.Deserialize(IXunitSerializationInfo info) => Name = info.GetValue<string>(nameof(Name));

    /// <inheritdoc />
    public override string ToString() => Name;
}
