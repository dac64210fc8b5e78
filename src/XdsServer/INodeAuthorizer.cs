using Envoy.Config.Core.V3;

namespace XdsServer;

/// <summary>
/// Decides whether the caller of a stream may claim the node it sends: compare the node id with what the
/// connection proves (a client certificate's SPIFFE ID, a bearer token, metadata). A refusal ends the
/// stream with PERMISSION_DENIED and the reason.
/// </summary>
public interface INodeAuthorizer
{
    /// <summary>Returns null to allow, or the reason for refusing.</summary>
    ValueTask<string?> AuthorizeAsync(XdsStreamContext stream, Node node, CancellationToken cancellationToken);
}
