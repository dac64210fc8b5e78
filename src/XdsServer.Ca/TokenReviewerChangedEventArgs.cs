namespace XdsServer.Ca;

/// <summary>What changed when a <see cref="StaticTokenReviewer"/> took a new token file.</summary>
public sealed class TokenReviewerChangedEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="count">How many tokens are accepted now.</param>
    /// <param name="revoked">Whether a token accepted before is now refused or proves another identity.</param>
    public TokenReviewerChangedEventArgs(int count, bool revoked)
    {
        Count = count;
        Revoked = revoked;
    }

    /// <summary>How many tokens are accepted now.</summary>
    public int Count { get; }

    /// <summary>Whether a token accepted before is now refused or proves another identity: callers that
    /// authenticated with it (live streams) should be checked again.</summary>
    public bool Revoked { get; }
}
