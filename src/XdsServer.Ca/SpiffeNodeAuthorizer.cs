using Envoy.Config.Core.V3;
using XdsServer.Ca.Internal;
using XdsServer.Cache;

namespace XdsServer.Ca;

/// <summary>
/// An <see cref="INodeAuthorizer"/> that ties a stream's node to the workload identity its caller proves: the
/// caller authenticators (a client certificate issued by this CA, a bearer token checked by a token reviewer)
/// prove a SPIFFE ID, and the stream may claim a node only when that identity's group
/// (<see cref="WorkloadSecretPublisher.GroupOf"/>) is the group the cache's node hash gives the node. So a
/// stream authenticated as identity A is never served the snapshot, and the secrets, of identity B.
/// </summary>
/// <remarks>
/// <para>Nodes of <see cref="UnclaimedGroup"/> (when set) claim no identity and are let in without proof unless
/// <see cref="RequireProvenIdentity"/> is set: with <see cref="WorkloadIdentityNodeHash"/> that group holds no
/// secrets, so a plain xDS client that only wants listeners and clusters needs no credential. With the default
/// (null) every stream must prove an identity.</para>
/// <para>Per-node configuration keyed by node id is guarded too: whenever an identity is proven, a node id in
/// Istio's form (<c>sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local</c>) must name the proven identity's namespace, so
/// a workload cannot read the configuration of another namespace's pod by claiming its node id. A caller that
/// proves nothing can claim any node id of the unclaimed group, which is why <see cref="RequireProvenIdentity"/>
/// exists.</para>
/// <para>The decision rests on a credential: it carries the credential's expiry and asks to be made again while the
/// stream lives, so an expired certificate or a revoked token ends the stream.</para>
/// </remarks>
public sealed class SpiffeNodeAuthorizer : INodeAuthorizer
{
    private readonly ICallerAuthenticator[] _authenticators;
    private readonly INodeHash _nodeHash;
    private readonly Func<SpiffeId, string> _groupOf;

    /// <summary>Creates the authorizer.</summary>
    /// <param name="authenticators">Prove the caller's identity; asked in order, the first success wins.</param>
    /// <param name="nodeHash">The node-to-group mapping of the cache whose groups are identities.</param>
    /// <param name="groupOf">The group of an identity; null means the SPIFFE ID string (as <see cref="WorkloadSecretPublisher"/>).</param>
    public SpiffeNodeAuthorizer(IEnumerable<ICallerAuthenticator> authenticators, INodeHash nodeHash, Func<SpiffeId, string>? groupOf = null)
    {
        ArgumentNullException.ThrowIfNull(authenticators);
        ArgumentNullException.ThrowIfNull(nodeHash);
        _authenticators = authenticators.ToArray();
        _nodeHash = nodeHash;
        _groupOf = groupOf ?? (id => id.ToString());
    }

    /// <summary>The group of nodes that claim no identity and need no proof; null (the default) for none.</summary>
    public string? UnclaimedGroup { get; init; }

    /// <summary>Every stream must prove a workload identity, even one whose node claims none. Default false.</summary>
    public bool RequireProvenIdentity { get; init; }

    /// <summary>Called with the proven identity each time a stream whose node claims it is let in (and each time it is
    /// authorized again), before the stream asks for anything (for example to issue and publish the identity's
    /// certificate, and to mark it in use).</summary>
    public Action<SpiffeId>? OnAuthorized { get; init; }

    /// <inheritdoc/>
    public async ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Node node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(node);
        var claimed = _nodeHash.GetGroup(node);
        var unclaimed = UnclaimedGroup is not null && string.Equals(claimed, UnclaimedGroup, StringComparison.Ordinal);
        if (stream.HttpContext is not { } http)
        {
            return unclaimed && !RequireProvenIdentity
                ? NodeAuthorization.Allowed
                : NodeAuthorization.Refused("the stream has no connection to authenticate");
        }

        var (proof, provenBy, failures) = await CallerAuthentication.ProveAsync(_authenticators, http, cancellationToken)
            .ConfigureAwait(false);
        if (proof?.Identity is not { } identity)
        {
            if (unclaimed && !RequireProvenIdentity)
            {
                return NodeAuthorization.Allowed;
            }

            return NodeAuthorization.Refused(unclaimed
                ? $"node '{ClientText.ForLog(node.Id)}' claims no workload identity, and this server requires every stream to prove one: {failures}"
                : $"node '{ClientText.ForLog(node.Id)}' claims group '{ClientText.ForLog(claimed)}', which needs a proven workload identity: {failures}");
        }

        if (!unclaimed)
        {
            var proven = _groupOf(identity);
            if (!string.Equals(proven, claimed, StringComparison.Ordinal))
            {
                return NodeAuthorization.Refused(
                    $"node '{ClientText.ForLog(node.Id)}' belongs to group '{ClientText.ForLog(claimed)}', but the caller proved {identity} (group '{proven}') by {provenBy!.Name}");
            }
        }

        if (NodeIdMismatch(node.Id, identity) is { } mismatch)
        {
            return NodeAuthorization.Refused(mismatch);
        }

        if (!unclaimed)
        {
            OnAuthorized?.Invoke(identity);
        }

        return NodeAuthorization.AllowedByCredential(proof.ValidUntil);
    }

    /// <summary>Null when the node id is not in Istio's form or names the identity's namespace; else why not.</summary>
    private static string? NodeIdMismatch(string nodeId, SpiffeId identity)
    {
        if (!IstioNodeId.TryRead(nodeId, out var namespaces))
        {
            return null;
        }

        var proven = IstioNodeId.NamespaceOf(identity);
        foreach (var named in namespaces)
        {
            if (!string.Equals(named, proven, StringComparison.Ordinal))
            {
                return proven is null
                    ? $"node id '{ClientText.ForLog(nodeId)}' names namespace '{ClientText.ForLog(named)}', but the caller proved {identity}, which names no namespace"
                    : $"node id '{ClientText.ForLog(nodeId)}' names namespace '{ClientText.ForLog(named)}', but the caller proved {identity} of namespace '{proven}'";
            }
        }

        return null;
    }
}
