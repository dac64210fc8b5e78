using Envoy.Config.Core.V3;
using XdsServer.Cache;

namespace XdsServer.Ca;

/// <summary>
/// Maps a node to the SPIFFE ID it claims, as the group of the workload-secrets cache: the node's metadata
/// <c>NAMESPACE</c> and <c>SERVICE_ACCOUNT</c> (what istio-agent sends) give
/// <c>spiffe://&lt;trust domain&gt;/ns/&lt;NAMESPACE&gt;/sa/&lt;SERVICE_ACCOUNT&gt;</c>; otherwise a node id that is itself
/// a SPIFFE ID of the trust domain is the claim. A node claiming nothing (or something malformed, or another
/// trust domain) maps to <see cref="Unclaimed"/>, a group that never holds secrets.
/// </summary>
/// <remarks>A claim is only a claim: <see cref="SpiffeNodeAuthorizer"/> refuses a stream whose caller does not
/// prove the identity its node claims, so the group a stream is served is the identity it proved.</remarks>
public sealed class WorkloadIdentityNodeHash : INodeHash
{
    /// <summary>The group of nodes that claim no workload identity.</summary>
    public const string Unclaimed = "";

    /// <summary>The node metadata key of the namespace (istio-agent's <c>NAMESPACE</c>).</summary>
    public const string NamespaceKey = "NAMESPACE";

    /// <summary>The node metadata key of the service account (istio-agent's <c>SERVICE_ACCOUNT</c>).</summary>
    public const string ServiceAccountKey = "SERVICE_ACCOUNT";

    /// <summary>Creates the mapping for one trust domain.</summary>
    /// <param name="trustDomain">The CA's trust domain; claims in other trust domains are not claims.</param>
    public WorkloadIdentityNodeHash(string trustDomain)
    {
        ArgumentException.ThrowIfNullOrEmpty(trustDomain);
        TrustDomain = trustDomain;
    }

    /// <summary>The trust domain claims are made in.</summary>
    public string TrustDomain { get; }

    /// <summary>The identity <paramref name="node"/> claims, or null when it claims none.</summary>
    public SpiffeId? ClaimedIdentity(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var fields = node.Metadata?.Fields;
        if (fields is not null
            && fields.TryGetValue(NamespaceKey, out var ns) && ns.KindCase == Google.Protobuf.WellKnownTypes.Value.KindOneofCase.StringValue
            && fields.TryGetValue(ServiceAccountKey, out var sa) && sa.KindCase == Google.Protobuf.WellKnownTypes.Value.KindOneofCase.StringValue)
        {
            try
            {
                return SpiffeId.ForIstio(TrustDomain, ns.StringValue, sa.StringValue);
            }
            catch (FormatException)
            {
                return null;
            }
        }
        return SpiffeId.TryParse(node.Id, out var id) && string.Equals(id.TrustDomain, TrustDomain, StringComparison.Ordinal) ? id : null;
    }

    /// <inheritdoc />
    public string GetGroup(Node node) => ClaimedIdentity(node)?.ToString() ?? Unclaimed;
}
