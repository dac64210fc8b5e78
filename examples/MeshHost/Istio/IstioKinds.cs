namespace MeshHost.Istio;

/// <summary>The registry kinds (<c>group/Kind</c>) of the Istio objects the generator reads.</summary>
public static class IstioKinds
{
    /// <summary>networking.istio.io VirtualService.</summary>
    public const string VirtualService = "networking.istio.io/VirtualService";

    /// <summary>networking.istio.io DestinationRule.</summary>
    public const string DestinationRule = "networking.istio.io/DestinationRule";

    /// <summary>networking.istio.io Gateway.</summary>
    public const string Gateway = "networking.istio.io/Gateway";

    /// <summary>networking.istio.io Sidecar.</summary>
    public const string Sidecar = "networking.istio.io/Sidecar";

    /// <summary>security.istio.io PeerAuthentication.</summary>
    public const string PeerAuthentication = "security.istio.io/PeerAuthentication";

    /// <summary>security.istio.io AuthorizationPolicy.</summary>
    public const string AuthorizationPolicy = "security.istio.io/AuthorizationPolicy";

    /// <summary>security.istio.io RequestAuthentication.</summary>
    public const string RequestAuthentication = "security.istio.io/RequestAuthentication";
}
