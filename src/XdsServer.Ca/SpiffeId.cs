using System.Diagnostics.CodeAnalysis;

namespace XdsServer.Ca;

/// <summary>
/// A SPIFFE ID (<c>spiffe://trust-domain/path</c>), validated against the SPIFFE ID specification
/// (SPIFFE-ID.md, section 2): lower-case trust domain, no port, user info, query or fragment,
/// path segments that are non-empty, not <c>.</c> or <c>..</c>, of letters, digits, dots, dashes and
/// underscores, and no trailing slash.
/// </summary>
public sealed class SpiffeId : IEquatable<SpiffeId>
{
    /// <summary>The URI scheme prefix every SPIFFE ID starts with.</summary>
    public const string SchemePrefix = "spiffe://";

    /// <summary>"URIs with a total length longer than 2048 bytes SHOULD be rejected" (SPIFFE-ID.md 2.3).</summary>
    public const int MaxLength = 2048;

    /// <summary>"Trust domain names ... MUST NOT exceed 255 bytes" (SPIFFE-ID.md 2.3).</summary>
    public const int MaxTrustDomainLength = 255;

    private readonly string _value;

    private SpiffeId(string value, int trustDomainLength)
    {
        _value = value;
        TrustDomain = value.Substring(SchemePrefix.Length, trustDomainLength);
        Path = value[(SchemePrefix.Length + trustDomainLength)..];
    }

    /// <summary>The trust domain, e.g. <c>cluster.local</c>.</summary>
    public string TrustDomain { get; }

    /// <summary>The path with its leading slash, e.g. <c>/ns/default/sa/web</c>; empty for a trust domain's own ID.</summary>
    public string Path { get; }

    /// <summary>The ID of the trust domain itself, <c>spiffe://trust-domain</c>.</summary>
    public SpiffeId TrustDomainId => Path.Length == 0 ? this : new SpiffeId(SchemePrefix + TrustDomain, TrustDomain.Length);

    /// <summary>Parses and validates <paramref name="value"/>.</summary>
    /// <exception cref="FormatException">The value breaks a rule of the SPIFFE ID spec; the message names it.</exception>
    public static SpiffeId Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var error = Validate(value, out var trustDomainLength);
        if (error is not null)
        {
            throw new FormatException($"Invalid SPIFFE ID \"{Abbreviate(value)}\": {error}.");
        }
        return new SpiffeId(value, trustDomainLength);
    }

    /// <summary>Parses <paramref name="value"/>; false when it is not a valid SPIFFE ID.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out SpiffeId? id)
        => TryParse(value, out id, out _);

    /// <summary>Parses <paramref name="value"/>; when invalid, <paramref name="error"/> names the broken rule.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out string? error)
    {
        if (value is null)
        {
            id = null;
            error = "SPIFFE ID cannot be empty";
            return false;
        }
        error = Validate(value, out var trustDomainLength);
        id = error is null ? new SpiffeId(value, trustDomainLength) : null;
        return id is not null;
    }

    /// <summary>Istio's workload identity form: <c>spiffe://&lt;trustDomain&gt;/ns/&lt;ns&gt;/sa/&lt;serviceAccount&gt;</c>.</summary>
    /// <exception cref="FormatException">The trust domain, namespace or service account is not valid in a SPIFFE ID.</exception>
    public static SpiffeId ForIstio(string trustDomain, string @namespace, string serviceAccount)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        ArgumentNullException.ThrowIfNull(@namespace);
        ArgumentNullException.ThrowIfNull(serviceAccount);
        CheckSegment(@namespace, "namespace");
        CheckSegment(serviceAccount, "service account");
        return Parse($"{SchemePrefix}{trustDomain}/ns/{@namespace}/sa/{serviceAccount}");

        static void CheckSegment(string segment, string what)
        {
            var error = ValidateSegment(segment);
            if (error is not null)
            {
                throw new FormatException($"Invalid {what} \"{Abbreviate(segment)}\" for a SPIFFE ID: {error}.");
            }
        }
    }

    /// <summary>The ID as a <see cref="Uri"/>, as placed in a certificate's URI SAN.</summary>
    public Uri ToUri() => new(_value, UriKind.Absolute);

    /// <inheritdoc/>
    public override string ToString() => _value;

    /// <inheritdoc/>
    public bool Equals(SpiffeId? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SpiffeId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);

    /// <summary>Ordinal equality of two IDs.</summary>
    public static bool operator ==(SpiffeId? left, SpiffeId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Ordinal inequality of two IDs.</summary>
    public static bool operator !=(SpiffeId? left, SpiffeId? right) => !(left == right);

    private static string? Validate(string value, out int trustDomainLength)
    {
        trustDomainLength = 0;
        if (value.Length == 0)
        {
            return "SPIFFE ID cannot be empty";
        }
        if (value.Length > MaxLength)
        {
            return $"SPIFFE ID is longer than {MaxLength} bytes";
        }
        if (!value.StartsWith(SchemePrefix, StringComparison.Ordinal))
        {
            return "scheme is missing or invalid (must be \"spiffe://\" in lower case)";
        }
        if (value.Contains('?', StringComparison.Ordinal))
        {
            return "SPIFFE ID cannot contain a query";
        }
        if (value.Contains('#', StringComparison.Ordinal))
        {
            return "SPIFFE ID cannot contain a fragment";
        }

        var rest = value.AsSpan(SchemePrefix.Length);
        var slash = rest.IndexOf('/');
        var trustDomain = slash < 0 ? rest : rest[..slash];
        if (trustDomain.Length == 0)
        {
            return "trust domain is missing";
        }
        if (trustDomain.Contains('@'))
        {
            return "trust domain cannot contain user info";
        }
        if (trustDomain.Contains(':'))
        {
            return "trust domain cannot contain a port";
        }
        if (trustDomain.Length > MaxTrustDomainLength)
        {
            return $"trust domain is longer than {MaxTrustDomainLength} bytes";
        }
        foreach (var c in trustDomain)
        {
            if (!IsTrustDomainChar(c))
            {
                return "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores";
            }
        }
        trustDomainLength = trustDomain.Length;
        if (slash < 0)
        {
            return null;
        }

        // The path: "/" followed by segments separated by "/".
        var path = rest[(slash + 1)..];
        if (path.Length == 0)
        {
            return "path cannot have a trailing slash";
        }
        foreach (var range in path.Split('/'))
        {
            var segment = path[range];
            if (segment.Length == 0)
            {
                return range.Start.Value == path.Length ? "path cannot have a trailing slash" : "path cannot contain empty segments";
            }
            var error = ValidateSegment(segment);
            if (error is not null)
            {
                return error;
            }
        }
        return null;
    }

    private static string? ValidateSegment(ReadOnlySpan<char> segment)
    {
        if (segment.Length == 0)
        {
            return "path cannot contain empty segments";
        }
        if (segment is "." or "..")
        {
            return "path cannot contain dot segments";
        }
        foreach (var c in segment)
        {
            if (!IsPathChar(c))
            {
                return "path segment characters are limited to letters, numbers, dots, dashes, and underscores";
            }
        }
        return null;
    }

    private static bool IsTrustDomainChar(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_';

    private static bool IsPathChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_';

    private static string Abbreviate(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 77), "...");
}
