using XdsServer.Examples;

namespace FileServer;

/// <summary>The command line: the options of <see cref="Options"/> (values after a space or '='), which <c>--help</c>
/// lists with an example each. Kept stable: other tools drive it.</summary>
internal sealed record CommandLine(IReadOnlyList<ListenUrl> GrpcUrls, IReadOnlyList<ListenUrl> HttpUrls, string Resources, bool Help)
{
    public const string DefaultTrustDomain = "cluster.local";

    /// <summary>Every option the parser accepts, as <c>--help</c> lists them.</summary>
    public static readonly IReadOnlyList<CommandOption> Options =
    [
        new("--urls", "<urls>",
            "where to serve gRPC (HTTP/2; cleartext on http://, TLS on https://): ADS, the per-type xDS services, grpc.health.v1.Health, CSDS for loopback callers, and with --ca CreateCertificate and SDS; several separated by ';' (required)",
            "--urls http://127.0.0.1:18000"),
        new("--resources", "<dir>",
            "the folder of YAML/JSON resource files served to every node; reloaded within a second of a change, a bad file keeps the last good load (required)",
            "--resources examples/FileServer/sample"),
        new("--http-urls", "<urls>",
            "where to serve HTTP/1.1: REST fetch POST /v3/discovery:<type>, GET /healthz (why: to loopback callers), GET /metrics (Prometheus text), and with --ca the SPIFFE trust bundle; several separated by ';'",
            "--http-urls http://127.0.0.1:18001"),
        new("--ca", "<dir>",
            "be the mesh's certificate authority: the root in Istio's cacerts layout is loaded from <dir>, or a self-signed one is created there; serves CreateCertificate and SDS (secrets 'default', 'ROOTCA') on --urls",
            "--ca ./cacerts"),
        new("--ca-tokens", "<file>",
            "with --ca: a JSON object mapping bearer tokens to SPIFFE IDs (who may ask for certificates); watched for changes",
            "--ca-tokens tokens.json"),
        new("--trust-domain", "<name>",
            "with --ca: the trust domain of a new root (default " + DefaultTrustDomain + ")",
            "--trust-domain example.org"),
        new("--tls-cert", "<pem>",
            "the server certificate (PEM, leaf first) for https:// URLs; needs --tls-key; clients may then prove an identity with a certificate this CA issued",
            "--tls-cert server.crt"),
        new("--tls-key", "<pem>",
            "the private key (PEM) of --tls-cert",
            "--tls-key server.key"),
        new("--allow-insecure-transport", null,
            "accept bearer tokens and send secrets over cleartext from other machines (without it only TLS and loopback connections carry them)",
            "--allow-insecure-transport"),
        new("--help", null,
            "print this text and exit (also -h, -?)",
            "--help"),
    ];

    /// <summary>What <c>--help</c> prints (and what a bad command line is answered with).</summary>
    public static readonly string Usage = CommandOption.Help(
        "usage: FileServer --urls <urls> --resources <dir> [--http-urls <urls>] [--ca <dir> [--ca-tokens <file>] [--trust-domain <name>]]\n"
        + "                  [--tls-cert <pem> --tls-key <pem>] [--allow-insecure-transport]",
        "Serves a folder of Envoy resources (YAML/JSON) to every node over xDS, optionally as the mesh's certificate authority.",
        Options,
        "\nexamples:\n"
        + "  FileServer --urls http://127.0.0.1:18000 --http-urls http://127.0.0.1:18001 --resources examples/FileServer/sample\n"
        + "  FileServer --urls https://0.0.0.0:18000 --resources ./resources --ca ./cacerts --ca-tokens tokens.json \\\n"
        + "      --tls-cert server.crt --tls-key server.key\n");

    /// <summary>The CA's folder (<c>--ca</c>); null when the CA is off.</summary>
    public string? CaFolder { get; init; }

    /// <summary>The static token file (<c>--ca-tokens</c>); null for none.</summary>
    public string? CaTokens { get; init; }

    /// <summary>The trust domain (<c>--trust-domain</c>).</summary>
    public string TrustDomain { get; init; } = DefaultTrustDomain;

    /// <summary>The server certificate's PEM file (<c>--tls-cert</c>); null without TLS.</summary>
    public string? TlsCertificate { get; init; }

    /// <summary>The server key's PEM file (<c>--tls-key</c>); null without TLS.</summary>
    public string? TlsKey { get; init; }

    /// <summary>Whether secrets and bearer tokens may cross cleartext connections from other machines.</summary>
    public bool AllowInsecureTransport { get; init; }

    /// <summary>Parses the arguments; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string[] args, out CommandLine command, out string error)
    {
        command = new CommandLine([], [], string.Empty, Help: false);
        var grpc = new List<ListenUrl>();
        var http = new List<ListenUrl>();
        var single = new Dictionary<string, string>(StringComparer.Ordinal);
        var allowInsecure = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (!CommandOption.TryRead(Options, args, ref i, out var option, out var value, out error))
            {
                return false;
            }

            if (option is null)
            {
                command = command with { Help = true };
                return true;
            }

            var name = option.Name;
            if (value is null)
            {
                // The flags: --allow-insecure-transport, and --help (answered above).
                allowInsecure |= name == "--allow-insecure-transport";
                continue;
            }

            if (name is "--resources" or "--ca" or "--ca-tokens" or "--trust-domain" or "--tls-cert" or "--tls-key")
            {
                if (!single.TryAdd(name, value))
                {
                    error = $"{name} is given twice";
                    return false;
                }
            }
            else if (!ListenUrl.TryParseList(name, value, name == "--urls" ? grpc : http, "http://127.0.0.1:18000", out error))
            {
                return false;
            }
        }

        if (grpc.Count == 0)
        {
            error = "missing --urls (where to serve xDS over gRPC, e.g. --urls http://127.0.0.1:18000)";
            return false;
        }

        single.TryGetValue("--resources", out var resources);
        if (string.IsNullOrWhiteSpace(resources))
        {
            error = "missing --resources <dir> (the folder of resource files to serve)";
            return false;
        }

        if (!Directory.Exists(resources))
        {
            error = $"the resources folder '{resources}' does not exist"
                + (Path.IsPathRooted(resources) ? string.Empty : $" (looked for {Path.GetFullPath(resources)})");
            return false;
        }

        var ports = grpc.Concat(http).Where(u => u.Port != 0).GroupBy(u => u.Port).FirstOrDefault(g => g.Count() > 1);
        if (ports is not null)
        {
            error = $"port {ports.Key} is given more than once ({string.Join(", ", ports.Select(u => u.Text))}): "
                + "gRPC (HTTP/2) and HTTP/1.1 need their own ports";
            return false;
        }

        if (!TryParseCa(single, out var ca, out var tokens, out var trustDomain, out error)
            || !ListenUrl.TryParseTls(single, grpc.Concat(http).ToList(), out var tlsCert, out var tlsKey, out error))
        {
            return false;
        }

        command = new CommandLine(grpc, http, Path.GetFullPath(resources), Help: false)
        {
            CaFolder = ca,
            CaTokens = tokens,
            TrustDomain = trustDomain,
            TlsCertificate = tlsCert,
            TlsKey = tlsKey,
            AllowInsecureTransport = allowInsecure,
        };
        error = string.Empty;
        return true;
    }

    private static bool TryParseCa(Dictionary<string, string> single, out string? ca, out string? tokens, out string trustDomain, out string error)
    {
        single.TryGetValue("--ca", out ca);
        single.TryGetValue("--ca-tokens", out tokens);
        trustDomain = single.GetValueOrDefault("--trust-domain", DefaultTrustDomain);
        error = string.Empty;
        if (ca is null)
        {
            if (tokens is not null || single.ContainsKey("--trust-domain"))
            {
                error = "--ca-tokens and --trust-domain need --ca <dir> (the certificate authority is off without it)";
                return false;
            }

            return true;
        }

        if (string.IsNullOrWhiteSpace(ca) || File.Exists(ca))
        {
            error = $"--ca needs a folder (created when missing), not '{ca}'";
            return false;
        }

        ca = Path.GetFullPath(ca);
        if (tokens is not null)
        {
            if (!File.Exists(tokens))
            {
                error = $"the token file '{tokens}' does not exist"
                    + (Path.IsPathRooted(tokens) ? string.Empty : $" (looked for {Path.GetFullPath(tokens)})");
                return false;
            }

            tokens = Path.GetFullPath(tokens);
        }

        return true;
    }
}
