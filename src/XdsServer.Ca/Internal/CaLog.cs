using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Internal;

/// <summary>The CA's log messages; event ids 3000–3099 are reserved for XdsServer.Ca. A caller's mistake is
/// logged at Information at most; Error is for the CA's own failures. Credentials are never logged.</summary>
internal static partial class CaLog
{
    [LoggerMessage(3000, LogLevel.Information, "Issued certificate {SerialNumber} for {Identity}, valid until {NotAfter:O}")]
    public static partial void Issued(ILogger logger, string serialNumber, SpiffeId identity, DateTimeOffset notAfter);

    [LoggerMessage(3001, LogLevel.Debug, "Requested lifetime {Requested} for {Identity} was clamped; certificate ends {NotAfter:O}")]
    public static partial void LifetimeClamped(ILogger logger, TimeSpan? requested, SpiffeId identity, DateTimeOffset notAfter);

    [LoggerMessage(3002, LogLevel.Information, "Refused certificate request from {Peer}: caller not authenticated ({Detail})")]
    public static partial void Unauthenticated(ILogger logger, string peer, string detail);

    [LoggerMessage(3003, LogLevel.Information, "Refused certificate request from {Identity}: {Reason}: {Detail}")]
    public static partial void Refused(ILogger logger, SpiffeId identity, CertificateRequestError reason, string detail);

    [LoggerMessage(3004, LogLevel.Information, "Refused certificate request from {Identity}: outside trust domain {TrustDomain}")]
    public static partial void ForeignTrustDomain(ILogger logger, SpiffeId identity, string trustDomain);

    [LoggerMessage(3005, LogLevel.Error, "Could not issue a certificate for {Identity}")]
    public static partial void IssueFailed(ILogger logger, SpiffeId identity, Exception exception);
}
