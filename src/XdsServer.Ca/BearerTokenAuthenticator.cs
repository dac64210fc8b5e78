using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace XdsServer.Ca;

/// <summary>Authenticates a caller by the <c>Authorization: Bearer &lt;token&gt;</c> header (gRPC metadata
/// <c>authorization</c>, as istio-agent sends it), asking each <see cref="ITokenReviewer"/> in turn. A token that
/// crossed a cleartext connection from another machine proves nothing (anyone on the path has it too): it is refused
/// unless the connection is TLS, loopback or the host allowed it (<see cref="TransportSecurity"/>).</summary>
public sealed class BearerTokenAuthenticator : ICallerAuthenticator
{
    private const string Scheme = "Bearer ";
    private readonly ITokenReviewer[] _reviewers;
    private readonly XdsServerOptions _transport;

    /// <summary>Creates the authenticator with the default transport rules (TLS or loopback).</summary>
    /// <param name="reviewers">The reviewers, asked in order until one accepts the token.</param>
    public BearerTokenAuthenticator(IEnumerable<ITokenReviewer> reviewers)
        : this(reviewers, Options.Create(new XdsServerOptions()))
    {
    }

    /// <summary>Creates the authenticator with the xDS server's transport rules
    /// (<see cref="XdsServerOptions.AllowInsecureTransport"/>, <see cref="XdsServerOptions.LoopbackIsConfidential"/>).</summary>
    /// <param name="reviewers">The reviewers, asked in order until one accepts the token.</param>
    /// <param name="options">The xDS server's options.</param>
    public BearerTokenAuthenticator(IEnumerable<ITokenReviewer> reviewers, IOptions<XdsServerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(reviewers);
        ArgumentNullException.ThrowIfNull(options);
        _reviewers = reviewers.ToArray();
        _transport = options.Value;
    }

    /// <inheritdoc />
    public string Name => "bearer token";

    /// <inheritdoc />
    public async ValueTask<CallerAuthenticationResult> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Request.Headers[HeaderNames.Authorization];
        if (headers.Count == 0)
        {
            return CallerAuthenticationResult.Fail("no authorization header");
        }
        if (headers.Count > 1)
        {
            return CallerAuthenticationResult.Fail("more than one authorization header");
        }
        var header = headers[0] ?? "";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return CallerAuthenticationResult.Fail("the authorization header is not \"Bearer <token>\"");
        }
        var token = header[Scheme.Length..].Trim();
        if (token.Length == 0)
        {
            return CallerAuthenticationResult.Fail("the bearer token is empty");
        }
        if (_reviewers.Length == 0)
        {
            return CallerAuthenticationResult.Fail("no token reviewer is configured");
        }
        if (TransportSecurity.InsecureReason(context, _transport) is { } insecure)
        {
            return CallerAuthenticationResult.Fail($"a bearer token is not accepted here: {insecure}");
        }

        var failures = new List<string>(_reviewers.Length);
        foreach (var reviewer in _reviewers)
        {
            var result = await reviewer.ReviewAsync(token, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return result;
            }
            failures.Add(result.Failure!);
        }
        return CallerAuthenticationResult.Fail(string.Join("; ", failures));
    }
}
