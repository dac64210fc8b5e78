using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// Checks a bearer token with the Kubernetes API server (an <c>authentication.k8s.io/v1</c> TokenReview, as istiod
/// does): a token the server authenticates as the service account <c>system:serviceaccount:&lt;ns&gt;:&lt;sa&gt;</c>,
/// for one of <see cref="KubernetesTokenReviewOptions.Audiences"/>, proves
/// <c>spiffe://&lt;trust domain&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>.
/// </summary>
/// <remarks>
/// <para>Refused, with the reason and never the token: a token the server does not authenticate (with its
/// <c>status.error</c>), a user that is not a service account, an answer for none of the audiences (an answer naming
/// no audience too: the check fails closed), and a review that fails or does not answer within
/// <see cref="KubernetesTokenReviewOptions.RequestTimeout"/>.</para>
/// <para>Answers are cached for <see cref="KubernetesTokenReviewOptions.CacheDuration"/> by the SHA-256 of the token;
/// failures to reach the server are not. When the token is a JWT with an <c>exp</c> claim (service account tokens
/// are), a success is cached no longer than that and carries it as
/// <see cref="CallerAuthenticationResult.ValidUntil"/>, so a stream it authorized ends with the token. The claim is
/// read without verification, only once the server has authenticated the token. A revoked token (a deleted pod or
/// service account) is therefore accepted from the cache for up to the cache duration.</para>
/// <para>The service account needs RBAC permission to <c>create</c> <c>tokenreviews</c> (the
/// <c>system:auth-delegator</c> cluster role grants it).</para>
/// </remarks>
public sealed class KubernetesTokenReviewer : ITokenReviewer, IDisposable
{
    private const string ServiceAccountPrefix = "system:serviceaccount:";
    private const int MaxErrorLength = 256;

    private readonly KubernetesTokenReviewOptions _options;
    private readonly IKubernetes _client;
    private readonly bool _ownsClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TokenReviewCache _cache;
    private readonly List<string>? _audiences;

    /// <summary>Creates a reviewer.</summary>
    /// <param name="options">The audiences, trust domain, cache and client; the defaults when null.</param>
    /// <param name="timeProvider">The clock of the cache and of the request timeout; the system clock when null.</param>
    /// <param name="logger">Receives refusals (reasons only) and failures; none when null.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public KubernetesTokenReviewer(KubernetesTokenReviewOptions? options = null, TimeProvider? timeProvider = null,
        ILogger<KubernetesTokenReviewer>? logger = null)
    {
        _options = options ?? new KubernetesTokenReviewOptions();
        _options.Validate();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _cache = new TokenReviewCache(_options.MaxCacheEntries, _timeProvider);
        _audiences = _options.Audiences.Count == 0 ? null : [.. _options.Audiences];
        _client = KubernetesClients.Create(_options.Client, _options.KubeConfigPath, out _ownsClient);
    }

    /// <summary>How many answers are cached now (expired ones included until they are swept).</summary>
    public int CachedCount => _cache.Count;

    /// <inheritdoc />
    public async ValueTask<CallerAuthenticationResult> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0)
        {
            return CallerAuthenticationResult.Fail("the bearer token is empty");
        }
        var key = TokenReviewCache.Key(token);
        if (_cache.TryGet(key, out var cached))
        {
            return cached;
        }

        V1TokenReview review;
        try
        {
            review = await CallAsync(token, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unreviewable($"the Kubernetes API server did not answer the TokenReview within {_options.RequestTimeout.TotalSeconds:0.###} s");
        }
        catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException or k8s.Exceptions.KubernetesClientException
            or System.Text.Json.JsonException)
        {
            return Unreviewable($"the Kubernetes TokenReview request failed: {Redact(KubernetesClients.Describe(ex), token)}");
        }

        var now = _timeProvider.GetUtcNow();
        var expiry = JwtExpiry.Read(token);
        var result = Interpret(review, token, expiry, now);
        var until = now + _options.CacheDuration;
        if (result.Succeeded && expiry is { } end && end < until)
        {
            until = end;
        }
        if (_options.CacheDuration > TimeSpan.Zero && !_cache.Set(key, result, until))
        {
            KubernetesLog.TokenReviewCacheFull(_logger, _options.MaxCacheEntries);
        }
        if (result.Succeeded)
        {
            KubernetesLog.TokenAccepted(_logger, result.Identity!);
        }
        else
        {
            KubernetesLog.TokenRefused(_logger, result.Failure!);
        }
        return result;
    }

    /// <summary>Disposes the client when it was built here.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private async Task<V1TokenReview> CallAsync(string token, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var request = new V1TokenReview
        {
            ApiVersion = "authentication.k8s.io/v1",
            Kind = "TokenReview",
            Spec = new V1TokenReviewSpec { Token = token, Audiences = _audiences },
        };
        return await _client.AuthenticationV1.CreateTokenReviewAsync(request, cancellationToken: linked.Token).ConfigureAwait(false);
    }

    private CallerAuthenticationResult Interpret(V1TokenReview review, string token, DateTimeOffset? expiry, DateTimeOffset now)
    {
        var status = review.Status;
        if (status is null)
        {
            return CallerAuthenticationResult.Fail("the Kubernetes TokenReview answer has no status");
        }
        if (status.Authenticated != true)
        {
            return CallerAuthenticationResult.Fail(string.IsNullOrWhiteSpace(status.Error)
                ? "the Kubernetes API server did not authenticate the token"
                : $"the Kubernetes API server did not authenticate the token: {Redact(status.Error, token)}");
        }
        var user = status.User?.Username ?? "";
        var parts = user.StartsWith(ServiceAccountPrefix, StringComparison.Ordinal) ? user[ServiceAccountPrefix.Length..].Split(':') : [];
        if (parts is not [{ Length: > 0 } ns, { Length: > 0 } sa])
        {
            return CallerAuthenticationResult.Fail($"the token authenticates \"{Redact(user, token)}\", which is not a service account");
        }
        if (_audiences is not null && !(status.Audiences ?? []).Any(_audiences.Contains))
        {
            var named = status.Audiences is { Count: > 0 } a ? string.Join(", ", a.Select(x => Redact(x, token))) : "none";
            return CallerAuthenticationResult.Fail($"the token is not for audience {string.Join(" or ", _audiences)} (the review names {named})");
        }
        if (expiry is { } end && end <= now)
        {
            return CallerAuthenticationResult.Fail($"the token expired at {end:O}");
        }
        try
        {
            return CallerAuthenticationResult.Success(SpiffeId.ForIstio(_options.TrustDomain, ns, sa), expiry);
        }
        catch (ArgumentException ex)
        {
            return CallerAuthenticationResult.Fail($"the service account {Redact(user, token)} is no SPIFFE identity: {ex.Message}");
        }
    }

    private CallerAuthenticationResult Unreviewable(string reason)
    {
        KubernetesLog.TokenReviewFailed(_logger, reason);
        return CallerAuthenticationResult.Fail(reason);
    }

    /// <summary>Text from the server, clipped and escaped, with the token cut out should the server echo it.</summary>
    private static string Redact(string text, string token) =>
        ClientText.ForLog(text.Replace(token, "<token>", StringComparison.Ordinal), MaxErrorLength);
}
