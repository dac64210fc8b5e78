using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Internal;

/// <summary>Log messages about the CA's files on disk (the <c>cacerts</c> folder and the static token file);
/// event ids 3030–3049. Keys and tokens are never logged; paths, modes and counts are.</summary>
internal static partial class CaLog
{
    [LoggerMessage(3030, LogLevel.Warning, "CA key {Path} has mode {Mode}: users other than its owner may read it. Run: chmod 600 {Path}")]
    public static partial void CaKeyNotOwnerOnly(ILogger logger, string path, string mode);

    [LoggerMessage(3031, LogLevel.Information, "Removed {Path}, a temporary file left by an interrupted write of the CA folder")]
    public static partial void StaleTemporaryFileRemoved(ILogger logger, string path);

    [LoggerMessage(3032, LogLevel.Warning, "CA folder {Folder} held an interrupted first start (no {Missing}); recovered the missing files from its self-signed root {Subject} and key")]
    public static partial void InterruptedFirstStartRecovered(ILogger logger, string folder, string missing, string subject);

    [LoggerMessage(3040, LogLevel.Information, "Token file {Path} loaded: {Count} tokens accepted")]
    public static partial void TokenFileLoaded(ILogger logger, string path, int count);

    [LoggerMessage(3041, LogLevel.Information, "Token file {Path} changed and was reloaded: {Count} tokens accepted; tokens revoked or remapped: {Revoked}")]
    public static partial void TokenFileReloaded(ILogger logger, string path, int count, bool revoked);

    [LoggerMessage(3042, LogLevel.Warning, "Token file {Path} changed but was not loaded; the previous {Count} tokens stay accepted: {Reason}")]
    public static partial void TokenFileRejected(ILogger logger, string path, int count, string reason);

    [LoggerMessage(3043, LogLevel.Warning, "A handler of the token file {Path} changing failed")]
    public static partial void TokenChangedHandlerFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(3044, LogLevel.Warning, "Checking the token file {Path} for changes failed; the next poll tries again")]
    public static partial void TokenFilePollFailed(ILogger logger, string path, Exception exception);
}
