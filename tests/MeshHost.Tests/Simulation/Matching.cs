using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;

namespace MeshHost.Tests.Simulation;

/// <summary>Envoy's <c>StringMatcher</c> and RE2 regular expressions (run as anchored .NET expressions, which agree
/// with RE2 on the syntax istiod emits).</summary>
internal static class StringMatching
{
    private static readonly ConcurrentDictionary<string, Regex> Cache = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="regex"/> matches the whole of <paramref name="value"/>.</summary>
    public static bool FullMatch(string regex, string value) =>
        Cache.GetOrAdd(regex, r => new Regex("^(?:" + r + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))).IsMatch(value);

    /// <summary>Envoy's StringMatcher semantics, ignore_case included (it does not apply to regexes).</summary>
    public static bool Matches(StringMatcher matcher, string value)
    {
        var comparison = matcher.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return matcher.MatchPatternCase switch
        {
            StringMatcher.MatchPatternOneofCase.Exact => string.Equals(value, matcher.Exact, comparison),
            StringMatcher.MatchPatternOneofCase.Prefix => value.StartsWith(matcher.Prefix, comparison),
            StringMatcher.MatchPatternOneofCase.Suffix => value.EndsWith(matcher.Suffix, comparison),
            StringMatcher.MatchPatternOneofCase.Contains => value.Contains(matcher.Contains, comparison),
            StringMatcher.MatchPatternOneofCase.SafeRegex => FullMatch(matcher.SafeRegex.Regex, value),
            _ => false,
        };
    }

    /// <summary>Text of a StringMatcher, for descriptions.</summary>
    public static string Describe(StringMatcher matcher) => matcher.MatchPatternCase switch
    {
        StringMatcher.MatchPatternOneofCase.Exact => "=" + matcher.Exact,
        StringMatcher.MatchPatternOneofCase.Prefix => "^=" + matcher.Prefix,
        StringMatcher.MatchPatternOneofCase.Suffix => "$=" + matcher.Suffix,
        StringMatcher.MatchPatternOneofCase.Contains => "*=" + matcher.Contains,
        StringMatcher.MatchPatternOneofCase.SafeRegex => "~" + matcher.SafeRegex.Regex,
        var other => other.ToString(),
    } + (matcher.IgnoreCase ? " (ignore case)" : string.Empty);

    /// <summary>The query parameters of a :path, decoded (the first value of a repeated name).</summary>
    public static Dictionary<string, string> ParseQuery(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var q = path.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return result;
        }
        var query = path[(q + 1)..];
        if (query.IndexOf('#', StringComparison.Ordinal) is var hash and >= 0)
        {
            query = query[..hash];
        }
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            result.TryAdd(name, value);
        }
        return result;
    }
}

/// <summary>Envoy's <c>HeaderMatcher</c> (source/common/http/header_utility.cc semantics): a missing header matches
/// only <c>present_match: false</c>, or — inverted — only <c>present_match: true</c>, unless
/// treat_missing_header_as_empty makes it an empty value; otherwise the result is inverted by invert_match.</summary>
internal static class HeaderMatching
{
    // exact_match, safe_regex_match, prefix/suffix/contains_match are deprecated in favour of string_match, but Envoy
    // still honours them and a generator may still send them.
#pragma warning disable CS0612
    public static bool Matches(HeaderMatcher matcher, IReadOnlyDictionary<string, string> headers)
    {
        var isPresentMatch = matcher.HeaderMatchSpecifierCase is HeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch
            or HeaderMatcher.HeaderMatchSpecifierOneofCase.None;
        var present = matcher.HeaderMatchSpecifierCase != HeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch || matcher.PresentMatch;
        if (!headers.TryGetValue(matcher.Name, out var value))
        {
            if (!matcher.TreatMissingHeaderAsEmpty)
            {
                return matcher.InvertMatch ? isPresentMatch && present : isPresentMatch && !present;
            }
            value = string.Empty;
        }
        var match = matcher.HeaderMatchSpecifierCase switch
        {
            HeaderMatcher.HeaderMatchSpecifierOneofCase.ExactMatch => matcher.ExactMatch.Length == 0 || value == matcher.ExactMatch,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.SafeRegexMatch => StringMatching.FullMatch(matcher.SafeRegexMatch.Regex, value),
            HeaderMatcher.HeaderMatchSpecifierOneofCase.RangeMatch => long.TryParse(value, out var n) && n >= matcher.RangeMatch.Start && n < matcher.RangeMatch.End,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.PrefixMatch => value.StartsWith(matcher.PrefixMatch, StringComparison.Ordinal),
            HeaderMatcher.HeaderMatchSpecifierOneofCase.SuffixMatch => value.EndsWith(matcher.SuffixMatch, StringComparison.Ordinal),
            HeaderMatcher.HeaderMatchSpecifierOneofCase.ContainsMatch => value.Contains(matcher.ContainsMatch, StringComparison.Ordinal),
            HeaderMatcher.HeaderMatchSpecifierOneofCase.StringMatch => StringMatching.Matches(matcher.StringMatch, value),
            _ => present,
        };
        return match != matcher.InvertMatch;
    }

    public static string Describe(HeaderMatcher matcher)
    {
        var text = matcher.HeaderMatchSpecifierCase switch
        {
            HeaderMatcher.HeaderMatchSpecifierOneofCase.ExactMatch => "=" + matcher.ExactMatch,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.SafeRegexMatch => "~" + matcher.SafeRegexMatch.Regex,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.PrefixMatch => "^=" + matcher.PrefixMatch,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.SuffixMatch => "$=" + matcher.SuffixMatch,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.ContainsMatch => "*=" + matcher.ContainsMatch,
            HeaderMatcher.HeaderMatchSpecifierOneofCase.StringMatch => StringMatching.Describe(matcher.StringMatch),
            HeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch => matcher.PresentMatch ? " present" : " absent",
            var other => " " + other,
        };
        return (matcher.InvertMatch ? "!" : string.Empty) + matcher.Name + text;
    }
#pragma warning restore CS0612
}

/// <summary>CIDR containment for filter chain prefix ranges and RBAC IP rules.</summary>
internal static class Cidr
{
    /// <summary>The longest prefix among <paramref name="ranges"/> that contains <paramref name="address"/>, or -1.</summary>
    public static int LongestMatch(IEnumerable<CidrRange> ranges, string address)
    {
        var best = -1;
        foreach (var range in ranges)
        {
            if (Contains(range, address))
            {
                best = Math.Max(best, (int)(range.PrefixLen ?? 0));
            }
        }
        return best;
    }

    public static bool Contains(CidrRange range, string address)
    {
        if (!IPAddress.TryParse(range.AddressPrefix, out var prefix) || !IPAddress.TryParse(address, out var ip))
        {
            return false;
        }
        if (prefix.IsIPv4MappedToIPv6)
        {
            prefix = prefix.MapToIPv4();
        }
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }
        var a = prefix.GetAddressBytes();
        var b = ip.GetAddressBytes();
        if (a.Length != b.Length)
        {
            return false;
        }
        var bits = (int)Math.Min(range.PrefixLen ?? 0, (uint)(a.Length * 8));
        for (var i = 0; i < bits; i++)
        {
            var mask = 0x80 >> (i % 8);
            if ((a[i / 8] & mask) != (b[i / 8] & mask))
            {
                return false;
            }
        }
        return true;
    }
}
