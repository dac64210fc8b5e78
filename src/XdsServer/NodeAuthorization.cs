namespace XdsServer;

/// <summary>
/// What an <see cref="INodeAuthorizer"/> decided about a stream's node: refused with a reason, or allowed — and
/// when allowed on the strength of a credential, until when that credential holds and whether the decision must be
/// made again while the stream lives (a token the reviewer may revoke, a certificate that may leave the trust
/// bundle).
/// </summary>
public sealed record NodeAuthorization
{
    private NodeAuthorization(string? refusal, DateTimeOffset? validUntil, bool recheck)
    {
        Refusal = refusal;
        ValidUntil = validUntil;
        Recheck = recheck;
    }

    /// <summary>Allowed, for as long as the stream lives: no credential was involved.</summary>
    public static NodeAuthorization Allowed { get; } = new(null, null, false);

    /// <summary>Why the node was refused; null when it was allowed.</summary>
    public string? Refusal { get; }

    /// <summary>True when the node was allowed.</summary>
    public bool IsAllowed => Refusal is null;

    /// <summary>When the credential that allowed the stream expires: the server ends the stream then with
    /// UNAUTHENTICATED, so the client must prove itself again. Null when nothing expires.</summary>
    public DateTimeOffset? ValidUntil { get; }

    /// <summary>True when the server must ask the authorizers again every
    /// <see cref="XdsServerOptions.ReauthorizationInterval"/> while the stream lives (a later refusal ends it with
    /// UNAUTHENTICATED): the decision rests on a credential that can be revoked.</summary>
    public bool Recheck { get; }

    /// <summary>Allowed on the strength of a credential.</summary>
    /// <param name="validUntil">When the credential expires; null when it names no end.</param>
    /// <param name="recheck">Whether the decision must be made again while the stream lives (default true).</param>
    /// <returns>An allowing decision.</returns>
    public static NodeAuthorization AllowedByCredential(DateTimeOffset? validUntil, bool recheck = true) =>
        new(null, validUntil, recheck);

    /// <summary>Refused.</summary>
    /// <param name="reason">Why, for the client's status message and the log; must not contain a credential.</param>
    /// <returns>A refusing decision.</returns>
    public static NodeAuthorization Refused(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(reason, null, false);
    }

    /// <summary>The decision of two authorizers that must both allow: the first refusal, else the earlier expiry
    /// and a recheck when either asks for one.</summary>
    /// <param name="other">The other decision.</param>
    /// <returns>The combined decision.</returns>
    public NodeAuthorization And(NodeAuthorization other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!IsAllowed)
        {
            return this;
        }

        if (!other.IsAllowed)
        {
            return other;
        }

        var until = (ValidUntil, other.ValidUntil) switch
        {
            (null, var b) => b,
            (var a, null) => a,
            ({ } a, { } b) => a < b ? a : b,
        };
        return until == ValidUntil && Recheck == (Recheck || other.Recheck) ? this : new(null, until, Recheck || other.Recheck);
    }
}
