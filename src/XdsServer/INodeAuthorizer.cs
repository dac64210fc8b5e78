using Envoy.Config.Core.V3;

namespace XdsServer;

/// <summary>
/// Decides whether the caller of a stream (or REST/gRPC fetch) may claim the node it sends: compare the node with
/// what the connection proves (a client certificate's SPIFFE ID, a bearer token, metadata). A refusal ends the
/// stream with PERMISSION_DENIED and the reason. Several authorizers must all allow.
/// </summary>
/// <remarks>
/// A decision based on a credential should say so (<see cref="NodeAuthorization.AllowedByCredential"/>): the server
/// ends the stream with UNAUTHENTICATED when the credential expires, and asks again every
/// <see cref="XdsServerOptions.ReauthorizationInterval"/>, so that revoking a credential ends the streams it opened.
/// </remarks>
public interface INodeAuthorizer
{
    /// <summary>Decides for one stream or fetch.</summary>
    /// <param name="stream">The stream: its connection (client certificate, headers), protocol and type.</param>
    /// <param name="node">The node the caller claims.</param>
    /// <param name="cancellationToken">Cancelled when the stream ends.</param>
    /// <returns>The decision.</returns>
    ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Node node, CancellationToken cancellationToken);
}
