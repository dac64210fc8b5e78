namespace XdsServer.Ca;

/// <summary>Checks a bearer token and says which SPIFFE ID it proves (a static token file here; the Kubernetes
/// TokenReview reviewer comes with the Kubernetes package).</summary>
public interface ITokenReviewer
{
    /// <summary>Reviews one token.</summary>
    /// <param name="token">The bearer token; implementations must never log it or echo it in a failure.</param>
    /// <param name="cancellationToken">Cancelled when the call ends.</param>
    /// <returns>The identity the token proves, or why it proves none.</returns>
    ValueTask<CallerAuthenticationResult> ReviewAsync(string token, CancellationToken cancellationToken);
}
