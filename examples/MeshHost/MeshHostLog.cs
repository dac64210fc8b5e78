using XdsServer.Discovery;

namespace MeshHost;

/// <summary>Log messages of the MeshHost (event ids 4000–4099).</summary>
internal static partial class MeshHostLog
{
    [LoggerMessage(4000, LogLevel.Information, "Listening on {Url}: {Serves}")]
    public static partial void Listening(ILogger logger, string url, string serves);

    [LoggerMessage(4001, LogLevel.Information, "Configuration: {Source}")]
    public static partial void Source(ILogger logger, string source);

    [LoggerMessage(4002, LogLevel.Information, "The embedded demo mesh runs; its manifests are in {Directory}")]
    public static partial void DemoMesh(ILogger logger, string directory);

    [LoggerMessage(4003, LogLevel.Information, "Certificate authority for trust domain {TrustDomain}: root '{Subject}' {Where}, valid until {NotAfter:O}; callers prove identities with {Proofs}")]
    public static partial void CertificateAuthority(ILogger logger, string trustDomain, string subject, string where, DateTime notAfter, string proofs);

    [LoggerMessage(4004, LogLevel.Information, "Serving the mesh of domain {Domain} (trust domain {TrustDomain}); Ctrl+C stops")]
    public static partial void Serving(ILogger logger, string domain, string trustDomain);

    [LoggerMessage(4010, LogLevel.Information, "Discovery is ready: first push context built from registry generation {Generation} ({Services} services) in {Elapsed:0.#} ms")]
    public static partial void FirstPush(ILogger logger, long generation, int services, double elapsed);

    [LoggerMessage(4011, LogLevel.Debug, "Pushed registry generation {Generation} to {Proxies} proxies in {Elapsed:0.#} ms ({Changes} registry changes)")]
    public static partial void Pushed(ILogger logger, long generation, int proxies, double elapsed, int changes);

    [LoggerMessage(4012, LogLevel.Information, "Proxy connected: {NodeId} ({Type}, namespace {Namespace})")]
    public static partial void ProxyConnected(ILogger logger, string nodeId, string type, string @namespace);

    [LoggerMessage(4013, LogLevel.Information, "Proxy disconnected: {NodeId}")]
    public static partial void ProxyDisconnected(ILogger logger, string nodeId);

    [LoggerMessage(4014, LogLevel.Information, "Refused stream {StreamId}: {Reason}")]
    public static partial void BadNode(ILogger logger, long streamId, string reason);

    [LoggerMessage(4020, LogLevel.Error, "Generating the configuration of proxy {NodeId} failed; it keeps its previous configuration")]
    public static partial void GenerationFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(4021, LogLevel.Error, "The configuration generated for proxy {NodeId} is inconsistent and was not served; it keeps its previous configuration: {Problems}")]
    public static partial void SnapshotRefused(ILogger logger, string nodeId, string problems);

    [LoggerMessage(4022, LogLevel.Warning, "Istio configuration problem: {Key}: {Reason}")]
    public static partial void ConfigProblem(ILogger logger, ObjectKey key, string reason);

    [LoggerMessage(4023, LogLevel.Error, "Building the push context failed; proxies keep their configuration until the next change")]
    public static partial void PushFailed(ILogger logger, Exception exception);
}
