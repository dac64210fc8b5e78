using Xunit.Sdk;

namespace MeshHost.Tests.Simulation;

/// <summary>What a test expects of a <see cref="SimulationResult"/>: every field left null is not checked, so a
/// table-driven scenario names only what it cares about. <see cref="Error"/> is always checked (null means the call
/// must succeed) unless <see cref="AnyError"/> is set.</summary>
public sealed record SimulationExpectation
{
    /// <summary>The listener.</summary>
    public string? Listener { get; init; }

    /// <summary>The filter chain's name.</summary>
    public string? FilterChain { get; init; }

    /// <summary>The terminal network filter.</summary>
    public string? NetworkFilter { get; init; }

    /// <summary>The route configuration.</summary>
    public string? RouteConfig { get; init; }

    /// <summary>The virtual host.</summary>
    public string? VirtualHost { get; init; }

    /// <summary>The route's name.</summary>
    public string? Route { get; init; }

    /// <summary>The single cluster.</summary>
    public string? Cluster { get; init; }

    /// <summary>The weighted clusters, by name.</summary>
    public IReadOnlyDictionary<string, uint>? WeightedClusters { get; init; }

    /// <summary>The endpoints of the single cluster, as <c>address:port</c>, in any order.</summary>
    public IReadOnlyList<string>? Endpoints { get; init; }

    /// <summary>The upstream transport kind of the single cluster's endpoints: <c>mtls</c>, <c>tls</c>, <c>plaintext</c>.</summary>
    public string? UpstreamTransport { get; init; }

    /// <summary>The upstream SNI of the single cluster's endpoints.</summary>
    public string? UpstreamSni { get; init; }

    /// <summary>The status the proxy answers with itself.</summary>
    public int? Status { get; init; }

    /// <summary>A substring of the error (null: no error).</summary>
    public string? Error { get; init; }

    /// <summary>Do not check <see cref="Error"/>.</summary>
    public bool AnyError { get; init; }

    /// <summary>The overall RBAC decision.</summary>
    public bool? RbacAllowed { get; init; }

    /// <summary>The differences between <paramref name="result"/> and this expectation (empty when it holds).</summary>
    public IReadOnlyList<string> Mismatches(SimulationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var problems = new List<string>();
        void Check<T>(string what, T? want, T? got)
        {
            if (want is not null && !EqualityComparer<T>.Default.Equals(want, got))
            {
                problems.Add($"{what}: want {want}, got {(got is null ? "(none)" : got)}");
            }
        }
        Check("listener", Listener, result.Listener);
        Check("filter chain", FilterChain, result.FilterChain);
        Check("network filter", NetworkFilter, result.NetworkFilter);
        Check("route config", RouteConfig, result.RouteConfig);
        Check("virtual host", VirtualHost, result.VirtualHost);
        Check("route", Route, result.Route);
        Check("cluster", Cluster, result.Cluster);
        Check("status", Status, result.Status);
        Check("rbac allowed", RbacAllowed, result.RbacAllowed);
        Check("upstream transport", UpstreamTransport, result.UpstreamTransport?.Kind);
        Check("upstream sni", UpstreamSni, result.UpstreamTransport?.Sni);
        if (WeightedClusters is not null)
        {
            var got = string.Join(", ", result.Targets.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => $"{t.Name}={t.Weight}"));
            var want = string.Join(", ", WeightedClusters.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));
            Check("weighted clusters", want, got);
        }
        if (Endpoints is not null)
        {
            Check("endpoints", string.Join(", ", Endpoints.Order(StringComparer.Ordinal)),
                string.Join(", ", result.Endpoints.Select(e => e.HostPort).Order(StringComparer.Ordinal)));
        }
        if (!AnyError)
        {
            if (Error is null && result.Error is not null)
            {
                problems.Add($"error: want none, got {result.Error}");
            }
            else if (Error is not null && (result.Error is null || !result.Error.Contains(Error, StringComparison.Ordinal)))
            {
                problems.Add($"error: want \"{Error}\", got {result.Error ?? "(none)"}");
            }
        }
        return problems;
    }
}

/// <summary>Assertions on simulation results with the whole trace in the failure message.</summary>
public static class SimulationAssert
{
    /// <summary>Fails, showing the differences and the result's trace, unless <paramref name="result"/> meets
    /// <paramref name="expected"/>.</summary>
    public static void Matches(SimulationExpectation expected, SimulationResult result)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(result);
        var problems = expected.Mismatches(result);
        if (problems.Count > 0)
        {
            throw new XunitException(string.Join(Environment.NewLine, problems) + Environment.NewLine + result);
        }
    }
}
