using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using MeshHost.Model;

namespace MeshHost.Generation;

/// <summary>The gRPC library a proxyless node runs, read from its <c>user_agent_name</c>.</summary>
public enum GrpcLibrary
{
    /// <summary>Not a gRPC user agent this generator knows (or none): served istiod's form.</summary>
    Unknown,

    /// <summary>gRPC C-core and its wrappers (C++, Python, Ruby, PHP, Grpc.Core for C#): <c>gRPC C-core …</c>.</summary>
    CCore,

    /// <summary>@grpc/grpc-js with @grpc/grpc-js-xds: <c>gRPC Node Pure JS</c>.</summary>
    GrpcJs,

    /// <summary>grpc-go: <c>gRPC Go</c>.</summary>
    GrpcGo,

    /// <summary>grpc-java: <c>gRPC Java</c>.</summary>
    GrpcJava,
}

/// <summary>
/// What a proxyless gRPC client is and which forms of configuration it accepts, read from the node's
/// <c>user_agent_name</c> and <c>user_agent_version</c> (gRFC A27 has every gRPC library fill them in), and the
/// pass that rewrites istiod's route configurations into the forms an older client accepts.
/// </summary>
/// <remarks>
/// <para>What the three real clients of <c>tests/clients</c> send (logged by
/// tests/MeshHost.Tests/Proxyless/ProxylessClientTests.cs):</para>
/// <list type="table">
/// <listheader><term>client</term><description>user_agent_name / user_agent_version → form</description></listheader>
/// <item><term>@grpc/grpc-js-xds 1.14.1</term><description><c>gRPC Node Pure JS</c> / <c>1.14.1</c> → istiod's
/// form</description></item>
/// <item><term>python3-grpcio 1.51</term><description><c>gRPC C-core linux Python</c> / <c>C-core 29.0.0 Python
/// 1.51.1</c> → legacy header matchers</description></item>
/// <item><term>Grpc.Core 2.46.5</term><description><c>gRPC C-core linux csharp</c> / <c>C-core 24.0.0 csharp
/// 2.46.5</c> → legacy header matchers</description></item>
/// </list>
/// <para>Header matchers: istiod writes <c>string_match</c> (a <c>StringMatcher</c>); gRPC reads it only since
/// gRFC A63 (C-core 1.56, 2023). C-core before that NACKs the whole route configuration ("Invalid route header
/// matcher specified."), so those clients get the deprecated one-of fields every gRPC version reads
/// (<c>exact_match</c>, <c>prefix_match</c>, <c>suffix_match</c>, <c>contains_match</c>,
/// <c>safe_regex_match</c>; <c>present_match</c> and <c>invert_match</c> are the same in both forms). grpc-js-xds
/// before 1.9 (released with A63) is given the legacy form too; only 1.14.1 is tested.</para>
/// <para>The C-core version: C-core's own (ABI) version is not gRPC's release number (24.0.0 is 1.46, 29.0.0 is
/// 1.51), so the wrapped library's version is read where it is the release (<c>Python 1.51.1</c>; Grpc.Core
/// <c>csharp 2.46.5</c> is 1.46), else the C-core version plus 22 (which holds from 24.0.0 to 29.0.0 at least).</para>
/// <para>Load balancing (see GrpcGenerator): every gRPC client here accepts ROUND_ROBIN and RING_HASH only (grpc-js
/// NACKs any other lb_policy; C-core 1.46 and 1.51 as well), so every client gets those two.</para>
/// </remarks>
/// <param name="Library">The gRPC library.</param>
/// <param name="Version">Its gRPC release (major.minor), when the user agent says it.</param>
public sealed partial record GrpcClient(GrpcLibrary Library, Version? Version)
{
    /// <summary>The first C-core release reading <c>HeaderMatcher.string_match</c> (gRFC A63).</summary>
    public static Version CCoreStringMatch { get; } = new(1, 56);

    /// <summary>The first grpc-js-xds release assumed to read <c>HeaderMatcher.string_match</c>.</summary>
    public static Version GrpcJsStringMatch { get; } = new(1, 9);

    /// <summary>Whether header matchers must use the deprecated one-of fields rather than <c>string_match</c>.</summary>
    public bool NeedsLegacyHeaderMatchers => Library switch
    {
        GrpcLibrary.CCore => Version is null || Version < CCoreStringMatch,
        GrpcLibrary.GrpcJs => Version is not null && Version < GrpcJsStringMatch,
        _ => false,
    };

    /// <summary>Reads the client from <paramref name="proxy"/>'s user agent.</summary>
    public static GrpcClient Of(Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        return Parse(proxy.UserAgentName, proxy.UserAgentVersion);
    }

    /// <summary>Reads the client from a node's <c>user_agent_name</c> and <c>user_agent_version</c>.</summary>
    public static GrpcClient Parse(string? name, string? version)
    {
        name ??= string.Empty;
        version ??= string.Empty;
        if (name.StartsWith("gRPC C-core", StringComparison.Ordinal))
        {
            return new GrpcClient(GrpcLibrary.CCore, CCoreRelease(version));
        }
        var library = name switch
        {
            "gRPC Node Pure JS" => GrpcLibrary.GrpcJs,
            "gRPC Go" => GrpcLibrary.GrpcGo,
            "gRPC Java" => GrpcLibrary.GrpcJava,
            _ => GrpcLibrary.Unknown,
        };
        return new GrpcClient(library, library == GrpcLibrary.Unknown ? null : MajorMinor(VersionNumber().Match(version)));
    }

    /// <summary>The gRPC release of a C-core user_agent_version: <c>C-core 29.0.0 Python 1.51.1</c> (1.51),
    /// <c>C-core 24.0.0 csharp 2.46.5</c> (1.46), <c>C-core 29.0.0</c> (1.51).</summary>
    private static Version? CCoreRelease(string version)
    {
        var numbers = VersionNumber().Matches(version);
        if (numbers.Count >= 2 && MajorMinor(numbers[1]) is { } wrapper)
        {
            // Grpc.Core 2.x is gRPC 1.x; the other wrappers carry gRPC's release number.
            return wrapper.Major == 2 && version.Contains("csharp", StringComparison.OrdinalIgnoreCase) ? new Version(1, wrapper.Minor) : wrapper;
        }
        return numbers.Count == 1 && MajorMinor(numbers[0]) is { Major: >= 24 } core ? new Version(1, core.Major + 22) : null;
    }

    private static Version? MajorMinor(Match match) =>
        match.Success
        && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var major)
        && int.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? new Version(major, minor)
            : null;

    [GeneratedRegex(@"(\d+)\.(\d+)(?:\.\d+)?")]
    private static partial Regex VersionNumber();

    /// <summary>The route configuration in the form this client accepts: <paramref name="routes"/> itself when it
    /// takes istiod's form, else a copy with every header matcher rewritten.</summary>
    public RouteConfiguration Adapt(RouteConfiguration routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        if (!NeedsLegacyHeaderMatchers || !routes.VirtualHosts.SelectMany(h => h.Routes).Any(r => r.Match?.Headers.Any(m => m.StringMatch is not null) == true))
        {
            return routes;
        }
        var copy = routes.Clone();
        foreach (var matcher in copy.VirtualHosts.SelectMany(h => h.Routes).Where(r => r.Match is not null).SelectMany(r => r.Match.Headers))
        {
            ToLegacy(matcher);
        }
        return copy;
    }

    /// <summary>Rewrites a header matcher's <c>string_match</c> into the deprecated one-of field of the same
    /// meaning; a case-insensitive match (which the old fields cannot say) becomes an RE2 regex with <c>(?i)</c>.</summary>
    public static void ToLegacy(HeaderMatcher matcher)
    {
        ArgumentNullException.ThrowIfNull(matcher);
        if (matcher.StringMatch is not { } match)
        {
            return;
        }
#pragma warning disable CS0612 // the deprecated fields are the point
        if (match.IgnoreCase && match.MatchPatternCase != StringMatcher.MatchPatternOneofCase.SafeRegex)
        {
            var value = Re2Escape(match.MatchPatternCase switch
            {
                StringMatcher.MatchPatternOneofCase.Exact => match.Exact,
                StringMatcher.MatchPatternOneofCase.Prefix => match.Prefix,
                StringMatcher.MatchPatternOneofCase.Suffix => match.Suffix,
                _ => match.Contains,
            });
            var regex = match.MatchPatternCase switch
            {
                StringMatcher.MatchPatternOneofCase.Exact => value,
                StringMatcher.MatchPatternOneofCase.Prefix => value + ".*",
                StringMatcher.MatchPatternOneofCase.Suffix => ".*" + value,
                _ => ".*" + value + ".*",
            };
            matcher.SafeRegexMatch = new RegexMatcher { Regex = "(?i)" + regex };
            return;
        }
        switch (match.MatchPatternCase)
        {
            case StringMatcher.MatchPatternOneofCase.Exact:
                matcher.ExactMatch = match.Exact;
                break;
            case StringMatcher.MatchPatternOneofCase.Prefix:
                matcher.PrefixMatch = match.Prefix;
                break;
            case StringMatcher.MatchPatternOneofCase.Suffix:
                matcher.SuffixMatch = match.Suffix;
                break;
            case StringMatcher.MatchPatternOneofCase.Contains:
                matcher.ContainsMatch = match.Contains;
                break;
            case StringMatcher.MatchPatternOneofCase.SafeRegex:
                matcher.SafeRegexMatch = match.SafeRegex.Clone();
                break;
            default:
                matcher.PresentMatch = true; // an empty StringMatcher (which Envoy rejects) matches any value
                break;
        }
#pragma warning restore CS0612
    }

    /// <summary>Escapes RE2's metacharacters.</summary>
    private static string Re2Escape(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (@"\.+*?()|[]{}^$".Contains(c, StringComparison.Ordinal))
            {
                builder.Append('\\');
            }
            builder.Append(c);
        }
        return builder.ToString();
    }
}
