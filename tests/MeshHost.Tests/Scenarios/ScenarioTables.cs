namespace MeshHost.Tests.Scenarios;

/// <summary>Every table, so that a case xunit deserialised by name can be found again.</summary>
internal static class ScenarioTables
{
    private static readonly Lazy<Dictionary<string, MeshScenario>> ByName = new(() =>
    {
        var all = new Dictionary<string, MeshScenario>(StringComparer.Ordinal);
        foreach (var scenario in NamingScenarios.All.Concat(TrickyScenarios.All).Concat(VirtualServiceScenarios.All)
            .Concat(DestinationRuleScenarios.All).Concat(EdgeScenarios.All).Concat(SecurityScenarios.All).Concat(ProblemScenarios.All))
        {
            if (!all.TryAdd(scenario.Name, scenario))
            {
                throw new InvalidOperationException($"two scenarios are named \"{scenario.Name}\"");
            }
        }
        return all;
    });

    public static MeshScenario Find(string name) =>
        ByName.Value.TryGetValue(name, out var scenario) ? scenario : throw new InvalidOperationException($"no scenario named \"{name}\"");
}

/// <summary>The scenario tables, one theory each; every case shows in the test explorer by its name.</summary>
public class ScenarioTests
{
    public static TheoryData<MeshScenario> Naming => MeshScenario.Table(NamingScenarios.All);

    public static TheoryData<MeshScenario> Tricky => MeshScenario.Table(TrickyScenarios.All);

    public static TheoryData<MeshScenario> VirtualServices => MeshScenario.Table(VirtualServiceScenarios.All);

    public static TheoryData<MeshScenario> DestinationRules => MeshScenario.Table(DestinationRuleScenarios.All);

    public static TheoryData<MeshScenario> Edges => MeshScenario.Table(EdgeScenarios.All);

    public static TheoryData<MeshScenario> Security => MeshScenario.Table(SecurityScenarios.All);

    public static TheoryData<MeshScenario> BadConfig => MeshScenario.Table(ProblemScenarios.All);

    [Theory]
    [MemberData(nameof(Naming))]
    public Task Istiod_names(MeshScenario scenario) => scenario.RunAsync();

    [Theory]
    [MemberData(nameof(Tricky))]
    public Task Tricky_cases(MeshScenario scenario) => scenario.RunAsync();

    [Theory]
    [MemberData(nameof(VirtualServices))]
    public Task Virtual_services(MeshScenario scenario) => scenario.RunAsync();

    [Theory]
    [MemberData(nameof(DestinationRules))]
    public Task Destination_rules(MeshScenario scenario) => scenario.RunAsync();

    [Theory]
    [MemberData(nameof(Edges))]
    public Task Gateways_service_entries_and_sidecars(MeshScenario scenario) => scenario.RunAsync();

    [Theory]
    [MemberData(nameof(Security))]
    public Task Mutual_tls_and_authorization(MeshScenario scenario) => scenario.RunAsync();

    [Theory]
    [MemberData(nameof(BadConfig))]
    public Task Bad_config_is_reported_and_the_rest_served(MeshScenario scenario) => scenario.RunAsync();
}
