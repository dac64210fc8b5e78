using Envoy.Config.Core.V3;

namespace XdsServer;

/// <summary>The last NACK of a type on a stream.</summary>
/// <param name="Nonce">Nonce of the rejected response.</param>
/// <param name="RejectedVersion">Version of the rejected response.</param>
/// <param name="Message">The client's error_detail message.</param>
/// <param name="At">When it arrived.</param>
public sealed record XdsNack(string Nonce, string RejectedVersion, string Message, DateTimeOffset At);

/// <summary>What one stream knows of one resource type: ACK/NACK state is state, not noise (docs/architecture.md, invariant 5).</summary>
/// <param name="TypeUrl">The type URL.</param>
/// <param name="Subscription">What the client subscribes to, as text.</param>
/// <param name="LastSentVersion">Version of the last response sent, if any.</param>
/// <param name="LastSentNonce">Nonce of the last response sent, if any.</param>
/// <param name="LastSentAt">When it was sent.</param>
/// <param name="AckedVersion">The last version the client ACKed, if any.</param>
/// <param name="LastNack">The last NACK, if any (cleared by a later ACK).</param>
/// <param name="PendingResponses">A response due (its type changed) or computed, and not yet sent: 0 or 1 (newest wins).</param>
/// <param name="HeldForOrdering">True when a response waits for another type to go first (make before break).</param>
/// <param name="ResponsesSent">Responses sent for this type.</param>
/// <param name="Acks">ACKs received.</param>
/// <param name="Nacks">NACKs received.</param>
/// <param name="Resources">Name → version of every resource the client holds, as far as the server sent.</param>
public sealed record XdsTypeStatus(
    string TypeUrl,
    string Subscription,
    string? LastSentVersion,
    string? LastSentNonce,
    DateTimeOffset? LastSentAt,
    string? AckedVersion,
    XdsNack? LastNack,
    int PendingResponses,
    bool HeldForOrdering,
    long ResponsesSent,
    long Acks,
    long Nacks,
    IReadOnlyDictionary<string, string> Resources)
{
    /// <summary>True when the last response sent is neither ACKed nor NACKed yet.</summary>
    public bool AwaitingAck { get; init; }
}

/// <summary>What the server knows of one open stream.</summary>
/// <param name="StreamId">The stream's id.</param>
/// <param name="Protocol">The protocol variant.</param>
/// <param name="Node">The node (from the first request).</param>
/// <param name="OpenedAt">When the stream opened.</param>
/// <param name="Types">Per-type state, in ADS order.</param>
public sealed record XdsStreamStatus(long StreamId, XdsProtocol Protocol, Node Node, DateTimeOffset OpenedAt,
    IReadOnlyList<XdsTypeStatus> Types);

/// <summary>The open streams of this server and their per-type ACK/NACK state (the base of CSDS).</summary>
public interface IXdsStatus
{
    /// <summary>Every open stream's status.</summary>
    IReadOnlyList<XdsStreamStatus> GetStreams();
}
