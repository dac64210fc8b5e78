using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Internal;

/// <summary>The rotator's and the secret publisher's log messages (event ids 3010–3029). Identities are passed
/// through <see cref="ClientText.ForLog(string?)"/>; keys and credentials are never logged.</summary>
internal static partial class CaLog
{
    [LoggerMessage(3010, LogLevel.Error, "Could not issue a certificate for {Identity} ({Reason}): {Cause}. Keeping its current credential; retry {Attempt} at {RetryAt:O}")]
    public static partial void RotationIssueFailed(ILogger logger, string identity, WorkloadCredentialChangeReason reason, string cause, int attempt, DateTimeOffset retryAt, Exception exception);

    [LoggerMessage(3011, LogLevel.Information, "Issued a certificate for {Identity} after {Failures} failed attempt(s)")]
    public static partial void RotationRecovered(ILogger logger, string identity, int failures);

    [LoggerMessage(3012, LogLevel.Error, "A CredentialChanged handler failed for {Identity} ({Reason})")]
    public static partial void CredentialHandlerFailed(ILogger logger, string identity, WorkloadCredentialChangeReason reason, Exception exception);

    [LoggerMessage(3013, LogLevel.Information, "Reissued {Reissued} of {Held} workload certificate(s) under the new root; {Failed} failed and will be retried")]
    public static partial void RootRotationReissued(ILogger logger, int reissued, int held, int failed);

    [LoggerMessage(3014, LogLevel.Information, "Released idle workload identity {Identity}: no stream used it for {Idle}")]
    public static partial void IdleIdentityReleased(ILogger logger, string identity, TimeSpan idle);

    [LoggerMessage(3015, LogLevel.Error, "Releasing idle workload identities failed")]
    public static partial void IdleSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(3016, LogLevel.Error, "Renewing the certificate of {Identity} failed unexpectedly; the next renewal or rotation retries it")]
    public static partial void RenewalCrashed(ILogger logger, string identity, Exception exception);
}
