using Microsoft.AspNetCore.Http;

namespace XdsServer.Ca.Internal;

/// <summary>Runs the registered caller authenticators for one request, in order; the first that proves an
/// identity wins. Shared by the CSR service and the node authorizer so both judge a caller the same way.</summary>
internal static class CallerAuthentication
{
    /// <summary>The proven identity and the authenticator that proved it; or, when none did, each
    /// authenticator's reason ("name: reason; ...").</summary>
    public static async ValueTask<(SpiffeId? Identity, ICallerAuthenticator? ProvenBy, string Failures)> AuthenticateAsync(
        IReadOnlyList<ICallerAuthenticator> authenticators, HttpContext context, CancellationToken cancellationToken)
    {
        var (proof, provenBy, failures) = await ProveAsync(authenticators, context, cancellationToken).ConfigureAwait(false);
        return (proof?.Identity, provenBy, failures);
    }

    /// <summary>As <see cref="AuthenticateAsync"/>, with the whole successful result (its expiry included).</summary>
    public static async ValueTask<(CallerAuthenticationResult? Proof, ICallerAuthenticator? ProvenBy, string Failures)> ProveAsync(
        IReadOnlyList<ICallerAuthenticator> authenticators, HttpContext context, CancellationToken cancellationToken)
    {
        var failures = new List<string>(authenticators.Count);
        foreach (var authenticator in authenticators)
        {
            var result = await authenticator.AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return (result, authenticator, string.Empty);
            }
            failures.Add($"{authenticator.Name}: {result.Failure}");
        }
        return (null, null, failures.Count == 0 ? "no caller authenticator is configured" : string.Join("; ", failures));
    }
}
