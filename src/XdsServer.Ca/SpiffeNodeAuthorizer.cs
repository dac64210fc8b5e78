using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using XdsServer.Cache;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>
/// An <see cref="INodeAuthorizer"/> for SDS: a stream may claim a node only when its client certificate is an
/// X.509-SVID that chains to the CA's current trust bundle and whose SPIFFE ID's group (see
/// <see cref="WorkloadSecretPublisher.GroupOf"/>) is the group the cache's node hash gives the node. So a
/// stream authenticated as identity A is never served the snapshot (and secrets) of identity B.
/// </summary>
public sealed class SpiffeNodeAuthorizer : INodeAuthorizer
{
    private readonly RotatingCertificateAuthority _authority;
    private readonly INodeHash _nodeHash;
    private readonly Func<SpiffeId, string> _groupOf;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the authorizer.</summary>
    /// <param name="authority">Its trust bundle decides which client certificates are trusted (both roots during an overlap).</param>
    /// <param name="nodeHash">The cache's node-to-group mapping.</param>
    /// <param name="groupOf">The group of an identity; null means the SPIFFE ID string (as <see cref="WorkloadSecretPublisher"/>).</param>
    /// <param name="timeProvider">The clock for certificate validity.</param>
    public SpiffeNodeAuthorizer(RotatingCertificateAuthority authority, INodeHash nodeHash, Func<SpiffeId, string>? groupOf = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(nodeHash);
        _authority = authority;
        _nodeHash = nodeHash;
        _groupOf = groupOf ?? (id => id.ToString());
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public async ValueTask<string?> AuthorizeAsync(XdsStreamContext stream, Node node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var connection = stream.HttpContext?.Connection;
        var certificate = connection is null ? null
            : connection.ClientCertificate ?? await connection.GetClientCertificateAsync(cancellationToken).ConfigureAwait(false);
        return Authorize(certificate, node);
    }

    /// <summary>Returns null when <paramref name="clientCertificate"/> proves the identity of <paramref name="node"/>'s group, or why not.</summary>
    public string? Authorize(X509Certificate2? clientCertificate, Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (clientCertificate is null)
        {
            return "the stream presented no client certificate";
        }
        var uris = SubjectAlternativeNames.ReadUris(clientCertificate);
        if (uris is not [var uri] || !SpiffeId.TryParse(uri, out var identity))
        {
            return "the client certificate does not carry exactly one SPIFFE ID URI SAN";
        }
        var bundle = _authority.TrustBundle;
        using (var chain = new X509Chain())
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = _timeProvider.GetUtcNow().UtcDateTime;
            chain.ChainPolicy.CustomTrustStore.AddRange(bundle.Roots.ToArray());
            // A client sends its intermediates in the handshake, but the server sees the leaf alone.
            var signingChain = _authority.Current.CertificateChain;
            chain.ChainPolicy.ExtraStore.AddRange(signingChain.Take(signingChain.Count - 1).ToArray());
            if (!chain.Build(clientCertificate))
            {
                return $"the client certificate of {identity} does not chain to the trust bundle";
            }
        }
        var expected = _groupOf(identity);
        var actual = _nodeHash.GetGroup(node);
        return string.Equals(expected, actual, StringComparison.Ordinal)
            ? null
            : $"node '{node.Id}' belongs to group '{actual}', but the client certificate proves {identity} (group '{expected}')";
    }
}
