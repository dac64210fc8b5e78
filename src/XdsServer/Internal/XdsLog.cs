using Microsoft.Extensions.Logging;

namespace XdsServer.Internal;

/// <summary>Log messages of the server. Event ids 2000–2099 belong to XdsServer; a client's mistake is
/// never logged above Information.</summary>
internal static partial class XdsLog
{
    [LoggerMessage(2000, LogLevel.Debug, "Stream {StreamId} opened ({Protocol}) for node '{NodeId}'")]
    public static partial void StreamOpened(ILogger logger, long streamId, XdsProtocol protocol, string nodeId);

    [LoggerMessage(2001, LogLevel.Debug, "Stream {StreamId} closed: {Reason}")]
    public static partial void StreamClosed(ILogger logger, long streamId, string reason);

    [LoggerMessage(2002, LogLevel.Information, "Stream {StreamId} ended for a bad request: {Status} {Detail}")]
    public static partial void BadRequest(ILogger logger, long streamId, Grpc.Core.StatusCode status, string detail);

    [LoggerMessage(2003, LogLevel.Debug, "Stream {StreamId}: stale {TypeUrl} request (nonce '{Nonce}', latest '{Latest}') ignored")]
    public static partial void StaleNonce(ILogger logger, long streamId, string typeUrl, string nonce, string? latest);

    [LoggerMessage(2004, LogLevel.Information, "Node '{NodeId}' NACKed {TypeUrl} version {Version} (nonce {Nonce}): {Error}")]
    public static partial void Nack(ILogger logger, string nodeId, string typeUrl, string version, string nonce, string error);

    [LoggerMessage(2005, LogLevel.Debug, "Stream {StreamId}: sent {TypeUrl} version {Version} nonce {Nonce}, {Count} resource(s), {Removed} removed")]
    public static partial void Sent(ILogger logger, long streamId, string typeUrl, string version, string nonce, int count, int removed);

    [LoggerMessage(2006, LogLevel.Debug, "Stream {StreamId}: {TypeUrl} response held until {WaitingFor} '{Name}' is sent (make before break)")]
    public static partial void Held(ILogger logger, long streamId, string typeUrl, string waitingFor, string name);

    [LoggerMessage(2007, LogLevel.Debug, "Stream {StreamId}: removal of {TypeUrl} '{Name}' deferred while it is still referenced")]
    public static partial void RemovalDeferred(ILogger logger, long streamId, string typeUrl, string name);

    [LoggerMessage(2008, LogLevel.Warning, "No INodeAuthorizer is registered: every caller may claim any node id. Register one (AddNodeAuthorizer) before exposing this server beyond trusted proxies.")]
    public static partial void AllowAllAuthorizer(ILogger logger);

    [LoggerMessage(2009, LogLevel.Information, "Stream {StreamId}: node '{NodeId}' refused: {Reason}")]
    public static partial void NodeRefused(ILogger logger, long streamId, string nodeId, string reason);

    [LoggerMessage(2010, LogLevel.Error, "Stream {StreamId} failed")]
    public static partial void StreamFailed(ILogger logger, Exception exception, long streamId);

    [LoggerMessage(2012, LogLevel.Warning, "Stream {StreamId}: re-authorization failed; the stream is ended")]
    public static partial void ReauthorizationFailed(ILogger logger, Exception exception, long streamId);

    [LoggerMessage(2013, LogLevel.Warning, "XdsServerOptions.AllowInsecureTransport is on: secrets and bearer tokens are accepted over cleartext connections from other machines. Use it only where the network path is encrypted otherwise.")]
    public static partial void InsecureTransportAllowed(ILogger logger);

    [LoggerMessage(2014, LogLevel.Information, "CSDS request from {Peer} refused: {Reason}")]
    public static partial void ClientStatusRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(2015, LogLevel.Error, "Stream {StreamId}: the cache failed in {Operation} for {TypeUrl}; the client got INTERNAL")]
    public static partial void CacheFailed(ILogger logger, Exception exception, long streamId, string operation, string typeUrl);

    [LoggerMessage(2011, LogLevel.Debug, "REST fetch of {TypeUrl} by node '{NodeId}': {Status}")]
    public static partial void Fetched(ILogger logger, string typeUrl, string nodeId, string status);
}
