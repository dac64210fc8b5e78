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
}
