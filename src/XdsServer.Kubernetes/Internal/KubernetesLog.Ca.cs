using Microsoft.Extensions.Logging;

namespace XdsServer.Kubernetes.Internal;

// The Kubernetes package's log messages for the CA: TokenReview and the CA root in a Secret. Event ids 2310–2339.
// Tokens and keys are never logged: a token appears nowhere, a denial only by its reason.
internal static partial class KubernetesLog
{
    [LoggerMessage(2310, LogLevel.Information, "Kubernetes TokenReview refused a token: {Reason}")]
    public static partial void TokenRefused(ILogger logger, string reason);

    [LoggerMessage(2311, LogLevel.Warning, "Kubernetes TokenReview could not be completed: {Reason}")]
    public static partial void TokenReviewFailed(ILogger logger, string reason);

    [LoggerMessage(2312, LogLevel.Debug, "Kubernetes TokenReview accepted a token for {Identity}")]
    public static partial void TokenAccepted(ILogger logger, XdsServer.Ca.SpiffeId identity);

    [LoggerMessage(2313, LogLevel.Warning, "The TokenReview cache is full ({Entries} entries); this result is not cached")]
    public static partial void TokenReviewCacheFull(ILogger logger, int entries);

    [LoggerMessage(2320, LogLevel.Information, "Loaded the CA root from Secret {Namespace}/{Name} (root {RootSubject}, serial {RootSerial})")]
    public static partial void CaRootLoaded(ILogger logger, string @namespace, string name, string rootSubject, string rootSerial);

    [LoggerMessage(2321, LogLevel.Information, "Created a self-signed CA root and stored it as Secret {Namespace}/{Name} (root serial {RootSerial})")]
    public static partial void CaRootCreated(ILogger logger, string @namespace, string name, string rootSerial);

    [LoggerMessage(2322, LogLevel.Information, "Secret {Namespace}/{Name} was created by another replica meanwhile; loading theirs")]
    public static partial void CaRootCreatedElsewhere(ILogger logger, string @namespace, string name);

    [LoggerMessage(2323, LogLevel.Information, "No CA root Secret in {Namespace} yet and Lease {Lease} is held by {Holder}; waiting for it to create the root")]
    public static partial void WaitingForCaRoot(ILogger logger, string @namespace, string lease, string holder);

    [LoggerMessage(2324, LogLevel.Warning, "Could not release Lease {Namespace}/{Lease}; it expires by itself")]
    public static partial void LeaseReleaseFailed(ILogger logger, string @namespace, string lease, Exception exception);

    [LoggerMessage(2325, LogLevel.Information, "Lease {Namespace}/{Lease} acquired by {Holder} (previous holder {PreviousHolder})")]
    public static partial void LeaseAcquired(ILogger logger, string @namespace, string lease, string holder, string previousHolder);

    [LoggerMessage(2326, LogLevel.Information, "Secret {Namespace}/{Name} holds a new CA root (serial {RootSerial}, was {PreviousSerial}; resourceVersion {ResourceVersion}); signing under it now, the previous root stays trusted for {Overlap}")]
    public static partial void CaRootChanged(ILogger logger, string @namespace, string name, string rootSerial, string previousSerial, string resourceVersion, TimeSpan overlap);

    [LoggerMessage(2327, LogLevel.Information, "Secret {Namespace}/{Name} holds a new signing certificate {Subject} (serial {Serial}) under the same root; signing with it now")]
    public static partial void CaSignerChanged(ILogger logger, string @namespace, string name, string subject, string serial);

    [LoggerMessage(2328, LogLevel.Debug, "Secret {Namespace}/{Name} changed (resourceVersion {ResourceVersion}) but holds the CA in use; nothing to rotate")]
    public static partial void CaRootSecretTouched(ILogger logger, string @namespace, string name, string resourceVersion);

    [LoggerMessage(2329, LogLevel.Information, "The self-signed CA root (serial {RootSerial}) ends at {NotAfter:O}, less than {GracePercent}% of its lifetime away; renewing it with the same key")]
    public static partial void CaRootRenewing(ILogger logger, string rootSerial, DateTimeOffset notAfter, int gracePercent);

    [LoggerMessage(2330, LogLevel.Information, "Renewed the self-signed CA root in Secret {Namespace}/{Name}: serial {PreviousSerial} -> {RootSerial}, valid until {NotAfter:O}; the previous root stays trusted for {Overlap}")]
    public static partial void CaRootRenewed(ILogger logger, string @namespace, string name, string previousSerial, string rootSerial, DateTimeOffset notAfter, TimeSpan overlap);

    [LoggerMessage(2331, LogLevel.Information, "Secret {Namespace}/{Name} was changed by another replica while this one renewed it (409 Conflict); loading theirs")]
    public static partial void CaRootRenewedElsewhere(ILogger logger, string @namespace, string name);

    [LoggerMessage(2332, LogLevel.Information, "The self-signed CA root (serial {RootSerial}) is due for renewal and Lease {Namespace}/{Lease} is held by {Holder}; leaving the renewal to it, checking again in {Interval}")]
    public static partial void CaRootRenewalDeferred(ILogger logger, string rootSerial, string @namespace, string lease, string holder, TimeSpan interval);

    [LoggerMessage(2333, LogLevel.Warning, "The plugged-in CA of Secret {Namespace}/{Name} is near its end: {Subject} (serial {Serial}) expires at {NotAfter:O}, less than {GracePercent}% of its lifetime away. A plugged-in CA is never rotated here: store a renewed CA in the Secret, and every replica picks it up within {Interval}")]
    public static partial void PluggedCaExpiring(ILogger logger, string @namespace, string name, string subject, string serial, DateTimeOffset notAfter, int gracePercent, TimeSpan interval);

    [LoggerMessage(2334, LogLevel.Warning, "Checking the CA root in namespace {Namespace} failed; the CA in use (root serial {RootSerial}) keeps signing, and the check is retried in {Interval}")]
    public static partial void CaRootCheckFailed(ILogger logger, string @namespace, string rootSerial, TimeSpan interval, Exception exception);

    [LoggerMessage(2335, LogLevel.Warning, "Neither Secret {Plugged} nor {SelfSigned} exists any more in namespace {Namespace}; the CA in use (root serial {RootSerial}) keeps signing and nothing is created until a replica restarts")]
    public static partial void CaRootSecretsGone(ILogger logger, string @namespace, string plugged, string selfSigned, string rootSerial);

    [LoggerMessage(2336, LogLevel.Debug, "Secret {Namespace}/{Name} has tls.crt and tls.key and no ca-cert.pem; reading it in the cert-manager form")]
    public static partial void CaRootTlsForm(ILogger logger, string @namespace, string name);

    [LoggerMessage(2337, LogLevel.Information, "CA root rotation checks every {Interval} for Secrets {Plugged} and {SelfSigned} in namespace {Namespace} (renewal below {GracePercent}% of the root's lifetime)")]
    public static partial void CaRootRotatorStarted(ILogger logger, TimeSpan interval, string @namespace, string plugged, string selfSigned, int gracePercent);
}
