using System.Text;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using XdsServer.Ca;
using XdsServer.Kubernetes.Tests.Stubs;

namespace XdsServer.Kubernetes.Tests;

public sealed class KubernetesTokenReviewerTests : IAsyncLifetime
{
    private const string Token = "opaque-service-account-token";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private CaKubernetesApiStub _stub = null!;

    public async Task InitializeAsync() => _stub = await CaKubernetesApiStub.StartAsync();

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    [Fact]
    public async Task A_service_account_token_for_istio_ca_proves_its_spiffe_id()
    {
        _stub.TokenReviews = (spec, _) => Task.FromResult<V1TokenReviewStatus?>(Authenticated("system:serviceaccount:shop:web", "istio-ca"));
        using var reviewer = Reviewer();

        var result = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/web"), result.Identity);
        Assert.Null(result.ValidUntil); // an opaque token names no expiry
        Assert.Equal(Token, _stub.LastTokenReview!.Token);
        Assert.Equal(["istio-ca"], _stub.LastTokenReview.Audiences);
    }

    [Fact]
    public async Task The_trust_domain_comes_from_the_options()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(Authenticated("system:serviceaccount:shop:web", "istio-ca"));
        using var reviewer = Reviewer(o => o.TrustDomain = "example.org");

        var result = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.Equal(SpiffeId.Parse("spiffe://example.org/ns/shop/sa/web"), result.Identity);
    }

    [Fact]
    public async Task A_token_the_server_does_not_authenticate_is_refused_with_its_error_and_without_the_token()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(new V1TokenReviewStatus
        {
            Authenticated = false,
            Error = $"[invalid bearer token, token {Token} has been invalidated]",
        });
        using var reviewer = Reviewer();

        var result = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Contains("did not authenticate the token", result.Failure, StringComparison.Ordinal);
        Assert.Contains("has been invalidated", result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_that_is_not_a_service_account_is_refused()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(Authenticated("kubernetes-admin", "istio-ca"));
        using var reviewer = Reviewer();

        var result = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Contains("\"kubernetes-admin\", which is not a service account", result.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("other-audience")]
    [InlineData(null)]
    public async Task A_token_for_another_audience_or_none_named_is_refused(string? audience)
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(audience is null
            ? Authenticated("system:serviceaccount:shop:web")
            : Authenticated("system:serviceaccount:shop:web", audience));
        using var reviewer = Reviewer();

        var result = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Contains("is not for audience istio-ca", result.Failure, StringComparison.Ordinal);
        Assert.Contains(audience ?? "none", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_error_is_refused_and_not_cached()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(null);
        using var reviewer = Reviewer();

        var first = await reviewer.ReviewAsync(Token, CancellationToken.None);
        var second = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.False(first.Succeeded);
        Assert.Contains("HTTP 500", first.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, first.Failure, StringComparison.Ordinal);
        Assert.False(second.Succeeded);
        Assert.Equal(2, _stub.TokenReviewRequests);
    }

    [Fact]
    public async Task A_review_that_does_not_answer_is_refused_after_the_request_timeout()
    {
        _stub.TokenReviews = async (_, aborted) =>
        {
            await Task.Delay(Timeout.Infinite, aborted);
            return null;
        };
        using var reviewer = Reviewer(o => o.RequestTimeout = TimeSpan.FromSeconds(5));

        var review = reviewer.ReviewAsync(Token, CancellationToken.None).AsTask();
        await _stub.TokenReviewArrived.Task.WaitAsync(Bound);
        Assert.False(review.IsCompleted, "the review ended before its timeout");
        _clock.Advance(TimeSpan.FromSeconds(5));
        var result = await review.WaitAsync(Bound);

        Assert.False(result.Succeeded);
        Assert.Contains("did not answer the TokenReview within 5 s", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_review_of_the_same_token_is_answered_from_the_cache()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(Authenticated("system:serviceaccount:shop:web", "istio-ca"));
        using var reviewer = Reviewer();

        var first = await reviewer.ReviewAsync(Token, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(59));
        var second = await reviewer.ReviewAsync(Token, CancellationToken.None);
        var other = await reviewer.ReviewAsync(Token + "-other", CancellationToken.None);

        Assert.Equal(first.Identity, second.Identity);
        Assert.True(other.Succeeded);
        Assert.Equal(2, _stub.TokenReviewRequests); // the first token once, the other token once
    }

    [Fact]
    public async Task A_cached_answer_expires_after_the_cache_duration()
    {
        var authenticated = true;
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(authenticated
            ? Authenticated("system:serviceaccount:shop:web", "istio-ca")
            : new V1TokenReviewStatus { Authenticated = false, Error = "token has been invalidated" });
        using var reviewer = Reviewer(o => o.CacheDuration = TimeSpan.FromSeconds(30));

        Assert.True((await reviewer.ReviewAsync(Token, CancellationToken.None)).Succeeded);
        authenticated = false; // revoked in the cluster
        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True((await reviewer.ReviewAsync(Token, CancellationToken.None)).Succeeded);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var after = await reviewer.ReviewAsync(Token, CancellationToken.None);

        Assert.False(after.Succeeded);
        Assert.Equal(2, _stub.TokenReviewRequests);
    }

    [Fact]
    public async Task A_jwt_expiry_is_the_identitys_end_and_bounds_its_cache_entry()
    {
        var exp = _clock.GetUtcNow().AddSeconds(20);
        var jwt = Jwt(exp);
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(Authenticated("system:serviceaccount:shop:web", "istio-ca"));
        using var reviewer = Reviewer();

        var result = await reviewer.ReviewAsync(jwt, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(19));
        await reviewer.ReviewAsync(jwt, CancellationToken.None);
        Assert.Equal(1, _stub.TokenReviewRequests);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var expired = await reviewer.ReviewAsync(jwt, CancellationToken.None);

        Assert.Equal(exp, result.ValidUntil);
        Assert.Equal(2, _stub.TokenReviewRequests);
        Assert.False(expired.Succeeded);
        Assert.Contains("expired", expired.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cache_holds_at_most_its_capacity_and_still_answers_when_full()
    {
        _stub.TokenReviews = (_, _) => Task.FromResult<V1TokenReviewStatus?>(Authenticated("system:serviceaccount:shop:web", "istio-ca"));
        using var reviewer = Reviewer(o => o.MaxCacheEntries = 2);

        foreach (var token in (string[])["a", "b", "c"])
        {
            Assert.True((await reviewer.ReviewAsync(token, CancellationToken.None)).Succeeded);
        }
        Assert.Equal(2, reviewer.CachedCount);
        _clock.Advance(TimeSpan.FromSeconds(60));
        Assert.True((await reviewer.ReviewAsync("d", CancellationToken.None)).Succeeded);

        Assert.Equal(1, reviewer.CachedCount); // the expired entries were swept to make room
    }

    private KubernetesTokenReviewer Reviewer(Action<KubernetesTokenReviewOptions>? configure = null)
    {
        var options = new KubernetesTokenReviewOptions { KubeConfigPath = _stub.KubeConfigPath };
        configure?.Invoke(options);
        return new KubernetesTokenReviewer(options, _clock);
    }

    private static V1TokenReviewStatus Authenticated(string user, params string[] audiences) => new()
    {
        Authenticated = true,
        User = new V1UserInfo { Username = user },
        Audiences = audiences.Length == 0 ? null : audiences,
    };

    private static string Jwt(DateTimeOffset exp)
    {
        static string Part(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return Part("""{"alg":"RS256"}""") + "." + Part($$"""{"sub":"system:serviceaccount:shop:web","exp":{{exp.ToUnixTimeSeconds()}}}""") + ".c2ln";
    }
}
