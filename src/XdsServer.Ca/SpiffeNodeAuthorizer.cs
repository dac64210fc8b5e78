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
/// Nodes of <see cref="UnclaimedGroup"/> (when set) claim no identity and are let in without proof: with
/// <see cref="WorkloadIdentityNodeHash"/> that group holds no secrets, so a plain xDS client that only wants
/// listeners and clusters needs no credential. With the default (null) every stream must prove an identity.
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

    /// <summary>Called with the proven identity each time a stream is let in as that identity, before the stream
    /// asks for anything (for example to issue and publish the identity's certificate).</summary>
    public Action<SpiffeId>? OnAuthorized { get; init; }

    /// <inheritdoc/>
    public async ValueTask<string?> AuthorizeAsync(XdsStreamContext stream, Node node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(node);
        var claimed = _nodeHash.GetGroup(node);
        if (UnclaimedGroup is not null && string.Equals(claimed, UnclaimedGroup, StringComparison.Ordinal))
        {
            return null;
        }
        if (stream.HttpContext is not { } http)
        {
            return "the stream has no connection to authenticate";
        }

        var (identity, provenBy, failures) = await CallerAuthentication.AuthenticateAsync(_authenticators, http, cancellationToken)
            .ConfigureAwait(false);
        if (identity is null)
        {
            return $"node '{node.Id}' claims group '{claimed}', which needs a proven workload identity: {failures}";
        }

        var proven = _groupOf(identity);
        if (!string.Equals(proven, claimed, StringComparison.Ordinal))
        {
            return $"node '{node.Id}' belongs to group '{claimed}', but the caller proved {identity} (group '{proven}') by {provenBy!.Name}";
        }

        OnAuthorized?.Invoke(identity);
        return null;
    }
}
