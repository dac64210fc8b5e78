namespace XdsServer.Ca;

/// <summary>What an <see cref="ICallerAuthenticator"/> or <see cref="ITokenReviewer"/> concluded: the caller's
/// proven SPIFFE ID, or why none was proven.</summary>
public sealed record CallerAuthenticationResult
{
    private CallerAuthenticationResult(SpiffeId? identity, string? failure, DateTimeOffset? validUntil)
    {
        Identity = identity;
        Failure = failure;
        ValidUntil = validUntil;
    }

    /// <summary>The proven identity; <see langword="null"/> when authentication failed.</summary>
    public SpiffeId? Identity { get; }

    /// <summary>Why no identity was proven (never contains a credential); <see langword="null"/> on success.</summary>
    public string? Failure { get; }

    /// <summary>When the proof stops holding (a client certificate's or its chain's NotAfter, a token's expiry);
    /// <see langword="null"/> when the credential names no end. A stream authorized by this proof is ended when
    /// the time comes, so authorization never outlives its credential.</summary>
    public DateTimeOffset? ValidUntil { get; }

    /// <summary>Whether an identity was proven.</summary>
    public bool Succeeded => Identity is not null;

    /// <summary>The caller proved <paramref name="identity"/>.</summary>
    /// <param name="identity">The proven identity.</param>
    /// <param name="validUntil">When the credential that proved it expires; null when it names no end.</param>
    /// <returns>A successful result.</returns>
    public static CallerAuthenticationResult Success(SpiffeId identity, DateTimeOffset? validUntil = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new(identity, null, validUntil);
    }

    /// <summary>No identity was proven.</summary>
    /// <param name="reason">Why, for the caller and the log; must not contain the credential itself.</param>
    /// <returns>A failed result.</returns>
    public static CallerAuthenticationResult Fail(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(null, reason, null);
    }
}
