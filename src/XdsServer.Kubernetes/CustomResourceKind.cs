namespace XdsServer.Kubernetes;

/// <summary>A namespaced custom resource kind the live source lists and watches (the Istio configuration kinds), as
/// its CRD names it.</summary>
/// <param name="Group">The API group, e.g. <c>networking.istio.io</c>.</param>
/// <param name="Version">The served version, e.g. <c>v1</c>.</param>
/// <param name="Kind">The kind, e.g. <c>VirtualService</c>.</param>
/// <param name="Plural">The plural resource name in URLs, e.g. <c>virtualservices</c>.</param>
public sealed record CustomResourceKind(string Group, string Version, string Kind, string Plural)
{
    /// <summary>The Istio kinds watched by default: networking.istio.io/v1 VirtualService, DestinationRule, Gateway,
    /// ServiceEntry, Sidecar, WorkloadEntry; security.istio.io/v1 PeerAuthentication, AuthorizationPolicy,
    /// RequestAuthentication.</summary>
    public static IReadOnlyList<CustomResourceKind> IstioDefaults { get; } =
    [
        new("networking.istio.io", "v1", "VirtualService", "virtualservices"),
        new("networking.istio.io", "v1", "DestinationRule", "destinationrules"),
        new("networking.istio.io", "v1", "Gateway", "gateways"),
        new("networking.istio.io", "v1", "ServiceEntry", "serviceentries"),
        new("networking.istio.io", "v1", "Sidecar", "sidecars"),
        new("networking.istio.io", "v1", "WorkloadEntry", "workloadentries"),
        new("security.istio.io", "v1", "PeerAuthentication", "peerauthentications"),
        new("security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies"),
        new("security.istio.io", "v1", "RequestAuthentication", "requestauthentications"),
    ];

    /// <inheritdoc />
    public override string ToString() => $"{Group}/{Version} {Plural}";
}
