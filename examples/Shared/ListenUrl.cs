// Shared by the example hosts (FileServer, MeshHost): compiled into each of them (see their .csproj), so the two
// command lines read --urls and --http-urls the same way.
using System.Globalization;
using System.Net;

namespace XdsServer.Examples;

/// <summary>Where to listen: an IP address, any address (<c>*</c>, <c>+</c>) or <c>localhost</c>; over TLS for an
/// <c>https://</c> URL.</summary>
/// <param name="Text">The URL as given.</param>
/// <param name="Address">The address; null for <c>localhost</c>.</param>
/// <param name="Localhost">Whether the host is <c>localhost</c> (both loopback addresses).</param>
/// <param name="Port">The port; 0 lets the system choose (the bound port is logged).</param>
/// <param name="Tls">Whether the URL is <c>https://</c>.</param>
public sealed record ListenUrl(string Text, IPAddress? Address, bool Localhost, int Port, bool Tls = false)
{
    /// <summary>Adds the <c>;</c>-separated URLs of <paramref name="value"/> to <paramref name="urls"/>.</summary>
    /// <param name="option">The option, for messages.</param>
    /// <param name="value">The option's value.</param>
    /// <param name="urls">Where the URLs go.</param>
    /// <param name="example">An example URL for messages, such as <c>http://127.0.0.1:15010</c>.</param>
    /// <param name="error">Why the value is refused.</param>
    public static bool TryParseList(string option, string value, List<ListenUrl> urls, string example, out string error)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(urls);
        var before = urls.Count;
        foreach (var text in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryParse(text, example, out var url, out var why))
            {
                error = $"bad URL '{text}' in {option}: {why}";
                return false;
            }

            urls.Add(url);
        }

        if (urls.Count == before)
        {
            error = $"{option} has no URL";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>Reads <c>--tls-cert</c> / <c>--tls-key</c>: both or neither, given exactly when some URL is
    /// <c>https://</c>, naming files that exist (returned as full paths).</summary>
    /// <param name="options">The single-valued options given.</param>
    /// <param name="urls">Every listen URL.</param>
    /// <param name="cert">The certificate file, or null.</param>
    /// <param name="key">The key file, or null.</param>
    /// <param name="error">Why the options are refused.</param>
    public static bool TryParseTls(IReadOnlyDictionary<string, string> options, IReadOnlyList<ListenUrl> urls, out string? cert, out string? key,
        out string error)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(urls);
        options.TryGetValue("--tls-cert", out cert);
        options.TryGetValue("--tls-key", out key);
        error = string.Empty;
        var tlsUrls = urls.Where(u => u.Tls).Select(u => u.Text).ToList();
        if (cert is null && key is null)
        {
            if (tlsUrls.Count > 0)
            {
                error = $"{tlsUrls[0]} is https:// but no --tls-cert/--tls-key are given";
                return false;
            }

            return true;
        }

        if (cert is null || key is null)
        {
            error = "--tls-cert and --tls-key go together (the certificate and its private key, both PEM)";
            return false;
        }

        if (tlsUrls.Count == 0)
        {
            error = "--tls-cert is given but no URL is https://";
            return false;
        }

        foreach (var (option, file) in new[] { ("--tls-cert", cert), ("--tls-key", key) })
        {
            if (!File.Exists(file))
            {
                error = $"{option}: the file '{file}' does not exist"
                    + (Path.IsPathRooted(file) ? string.Empty : $" (looked for {Path.GetFullPath(file)})");
                return false;
            }
        }

        cert = Path.GetFullPath(cert);
        key = Path.GetFullPath(key);
        return true;
    }

    private static bool TryParse(string text, string example, out ListenUrl url, out string why)
    {
        url = null!;
        var tls = text.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        if (!tls && !text.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            why = $"use http:// (cleartext) or https:// (TLS, with --tls-cert/--tls-key), e.g. {example}";
            return false;
        }

        var rest = text[(tls ? "https://" : "http://").Length..].TrimEnd('/');
        if (rest.Contains('/', StringComparison.Ordinal))
        {
            why = "a path is not supported";
            return false;
        }

        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || (rest.StartsWith('[') && !rest[..colon].EndsWith(']')))
        {
            why = $"a port is required, e.g. {example} (0 lets the system choose)";
            return false;
        }

        var host = rest[..colon];
        if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            why = $"'{rest[(colon + 1)..]}' is not a port (0-65535)";
            return false;
        }

        why = string.Empty;
        if (host is "*" or "+")
        {
            url = new ListenUrl(text, IPAddress.IPv6Any, Localhost: false, port, tls);
            return true;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            url = new ListenUrl(text, null, Localhost: true, port, tls);
            return true;
        }

        if (!IPAddress.TryParse(host.Trim('[', ']'), out var address))
        {
            why = $"'{host}' is not an IP address, localhost or *";
            return false;
        }

        url = new ListenUrl(text, address, Localhost: false, port, tls);
        return true;
    }
}
