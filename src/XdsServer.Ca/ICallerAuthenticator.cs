using Microsoft.AspNetCore.Http;

namespace XdsServer.Ca;

/// <summary>Proves who is calling the certificate service. Registered authenticators run in registration order;
/// the first that proves an identity wins, and the certificate is issued for that identity only.</summary>
public interface ICallerAuthenticator
{
    /// <summary>A short name for refusal messages and logs, such as <c>client certificate</c>.</summary>
    string Name { get; }

    /// <summary>Authenticates the caller of one request.</summary>
    /// <param name="context">The HTTP/2 request carrying the gRPC call.</param>
    /// <param name="cancellationToken">Cancelled when the call ends.</param>
    /// <returns>The proven identity, or why none was proven.</returns>
    ValueTask<CallerAuthenticationResult> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken);
}
