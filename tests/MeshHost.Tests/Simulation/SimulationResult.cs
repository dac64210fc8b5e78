using System.Globalization;
using System.Text;

namespace MeshHost.Tests.Simulation;

/// <summary>How a connection to an upstream endpoint is wrapped, as the cluster's transport socket (or the
/// <c>transport_socket_matches</c> entry the endpoint's metadata selects) says.</summary>
/// <param name="Kind"><c>plaintext</c>, <c>tls</c> (no client certificate) or <c>mtls</c>.</param>
/// <param name="Sni">The SNI sent, if any.</param>
/// <param name="Alpn">The ALPN offered.</param>
/// <param name="MatchName">The name of the transport_socket_matches entry used, or null for the cluster's own
/// transport_socket (or none).</param>
public sealed record UpstreamTransport(string Kind, string? Sni, IReadOnlyList<string> Alpn, string? MatchName)
{
    /// <summary>No transport socket.</summary>
    public static UpstreamTransport Plaintext { get; } = new("plaintext", null, [], null);

    /// <summary>True for a TLS connection with a client certificate.</summary>
    public bool IsMutualTls => Kind == "mtls";

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder(Kind);
        if (Sni is not null)
        {
            text.Append(" sni=").Append(Sni);
        }
        if (Alpn.Count > 0)
        {
            text.Append(" alpn=").Append(string.Join(',', Alpn));
        }
        if (MatchName is not null)
        {
            text.Append(" (match ").Append(MatchName).Append(')');
        }
        return text.ToString();
    }
}

/// <summary>One endpoint of the chosen cluster.</summary>
/// <param name="Address">IP or host name.</param>
/// <param name="Port">Port.</param>
/// <param name="Health">The health status as served (<c>UNKNOWN</c>, <c>HEALTHY</c>, ...).</param>
/// <param name="Weight">The endpoint's load-balancing weight (null when not set).</param>
/// <param name="Locality">region/zone/subzone, or empty.</param>
/// <param name="Transport">How the proxy would connect to it.</param>
public sealed record SimulatedEndpoint(string Address, int Port, string Health, uint? Weight, string Locality, UpstreamTransport Transport)
{
    /// <summary><c>address:port</c>.</summary>
    public string HostPort => string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");

    /// <inheritdoc />
    public override string ToString() => $"{HostPort} [{Transport}]" + (Health is "UNKNOWN" or "HEALTHY" ? string.Empty : " " + Health);
}

/// <summary>One destination of a route or TCP proxy, resolved against the clusters and endpoints.</summary>
/// <param name="Name">The cluster name.</param>
/// <param name="Weight">Its weight among weighted clusters (null for a single cluster).</param>
/// <param name="Found">Whether a cluster of that name was served.</param>
/// <param name="Type">The cluster's discovery type (EDS, STATIC, ORIGINAL_DST, ...).</param>
/// <param name="Endpoints">Its endpoints (for ORIGINAL_DST, the call's own destination).</param>
/// <param name="Transport">The cluster's default transport (its transport_socket, before any match).</param>
public sealed record ClusterTarget(string Name, uint? Weight, bool Found, string Type, IReadOnlyList<SimulatedEndpoint> Endpoints, UpstreamTransport Transport)
{
    /// <inheritdoc />
    public override string ToString() =>
        (Weight is { } w ? $"{Name} ({w})" : Name) + (Found ? $" {Type} [{string.Join(", ", Endpoints)}]" : " NOT FOUND");
}

/// <summary>What an RBAC filter decided.</summary>
/// <param name="Filter">The filter's name (http_filters / network filters).</param>
/// <param name="Action">ALLOW, DENY or LOG: the filter's action.</param>
/// <param name="Allowed">Whether the request may continue.</param>
/// <param name="Policy">The matched policy name, if one matched.</param>
public sealed record RbacDecision(string Filter, string Action, bool Allowed, string? Policy)
{
    /// <inheritdoc />
    public override string ToString() => $"{(Allowed ? "allow" : "deny")} by {Action} {Filter}" + (Policy is null ? " (no policy matched)" : $" (policy {Policy})");
}

/// <summary>Everything the simulated proxy did with a <see cref="SimulatedCall"/>, step by step; the fields up to
/// the step that failed are set, and <see cref="Error"/> says why it stopped.</summary>
public sealed record SimulationResult
{
    /// <summary>The call, with nothing defaulted.</summary>
    public required SimulatedCall Call { get; init; }

    /// <summary>The listener that took the connection.</summary>
    public string? Listener { get; init; }

    /// <summary>The filter chain's name (empty when the chain has none).</summary>
    public string? FilterChain { get; init; }

    /// <summary>True when the listener's default_filter_chain took the connection.</summary>
    public bool DefaultFilterChain { get; init; }

    /// <summary>The terminal network filter: <c>envoy.filters.network.http_connection_manager</c> or
    /// <c>envoy.filters.network.tcp_proxy</c>.</summary>
    public string? NetworkFilter { get; init; }

    /// <summary>The RDS name (or the inline route configuration's name).</summary>
    public string? RouteConfig { get; init; }

    /// <summary>The virtual host chosen by the Host header.</summary>
    public string? VirtualHost { get; init; }

    /// <summary>The route's name.</summary>
    public string? Route { get; init; }

    /// <summary>The route's match, as text (<c>prefix:/</c>, <c>path:/x headers[...]</c>).</summary>
    public string? RouteMatch { get; init; }

    /// <summary>The single destination cluster (the route's or tcp_proxy's cluster); null for weighted clusters,
    /// direct responses and redirects.</summary>
    public string? Cluster { get; init; }

    /// <summary>Every destination (one for a single cluster, each with its weight for weighted clusters).</summary>
    public IReadOnlyList<ClusterTarget> Targets { get; init; } = [];

    /// <summary>The status of a direct_response route.</summary>
    public int? DirectResponseStatus { get; init; }

    /// <summary>A redirect route's target, as <c>scheme://host:port/path</c> with the parts the redirect changes.</summary>
    public string? Redirect { get; init; }

    /// <summary>A redirect's status (301, 302, 303, 307, 308).</summary>
    public int? RedirectStatus { get; init; }

    /// <summary>The HTTP status of a fault abort that applies to every request (100%).</summary>
    public int? FaultAbortStatus { get; init; }

    /// <summary>The gRPC status of a fault abort that applies to every request (100%).</summary>
    public int? FaultAbortGrpcStatus { get; init; }

    /// <summary>What each RBAC filter decided, in filter order.</summary>
    public IReadOnlyList<RbacDecision> Rbac { get; init; } = [];

    /// <summary>Why the request did not reach an upstream (null when it would).</summary>
    public string? Error { get; init; }

    /// <summary>The status the client would see when the proxy answers itself (404 no route, 503 no cluster, 403 RBAC,
    /// a direct response, redirect or fault abort); null when the request is proxied or the connection fails.</summary>
    public int? Status { get; init; }

    /// <summary>The endpoints of <see cref="Cluster"/> (empty for weighted clusters: see <see cref="Targets"/>).</summary>
    public IReadOnlyList<SimulatedEndpoint> Endpoints => Targets.Count == 1 ? Targets[0].Endpoints : [];

    /// <summary>How the proxy would connect to the first endpoint of <see cref="Cluster"/> (or the cluster's default
    /// transport when it has no endpoints).</summary>
    public UpstreamTransport? UpstreamTransport => Targets.Count == 1
        ? Targets[0].Endpoints.Count > 0 ? Targets[0].Endpoints[0].Transport : Targets[0].Transport
        : null;

    /// <summary>The weights by cluster name (a single cluster has null weight).</summary>
    public IReadOnlyDictionary<string, uint?> Weights => Targets.ToDictionary(t => t.Name, t => t.Weight, StringComparer.Ordinal);

    /// <summary>The final decision of RBAC: false when any RBAC filter denied.</summary>
    public bool RbacAllowed => Rbac.All(r => r.Allowed);

    /// <summary>A multi-line account of every step, for assertion messages.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("call: ").Append(Call).AppendLine();
        void Line(string label, object? value)
        {
            if (value is not null)
            {
                text.Append("  ").Append(label).Append(": ").Append(value).AppendLine();
            }
        }
        Line("listener", Listener);
        Line("filter chain", FilterChain is null ? null : (FilterChain.Length == 0 ? "(unnamed)" : FilterChain) + (DefaultFilterChain ? " (default)" : string.Empty));
        Line("network filter", NetworkFilter);
        Line("route config", RouteConfig);
        Line("virtual host", VirtualHost);
        Line("route", Route is null && RouteMatch is null ? null : $"{(string.IsNullOrEmpty(Route) ? "(unnamed)" : Route)} [{RouteMatch}]");
        foreach (var rbac in Rbac)
        {
            Line("rbac", rbac);
        }
        Line("fault abort", FaultAbortStatus ?? FaultAbortGrpcStatus);
        Line("direct response", DirectResponseStatus);
        Line("redirect", Redirect is null ? null : $"{RedirectStatus} {Redirect}");
        Line("cluster", Cluster);
        foreach (var target in Targets)
        {
            Line("  target", target);
        }
        Line("status", Status);
        Line("error", Error);
        return text.ToString().TrimEnd();
    }
}
