namespace FileServer;

/// <summary>Log messages of the FileServer example (event ids 2150–2199; the file source has 2100–2149).</summary>
internal static partial class FileServerLog
{
    [LoggerMessage(2150, LogLevel.Information, "Listening on {Url}: {Serves}")]
    public static partial void Listening(ILogger logger, string url, string serves);

    [LoggerMessage(2151, LogLevel.Information, "Serving '{Directory}' to every node; Ctrl+C stops")]
    public static partial void Serving(ILogger logger, string directory);

    [LoggerMessage(2152, LogLevel.Information, "Certificate authority for trust domain {TrustDomain}: root '{Subject}' from {Folder}, valid until {NotAfter:O}; bearer tokens: {Tokens}")]
    public static partial void CertificateAuthority(ILogger logger, string trustDomain, string folder, string subject, DateTime notAfter, string tokens);
}
