using XdsServer.Examples;

namespace MeshHost;

/// <summary>Where the mesh's Kubernetes and Istio configuration comes from.</summary>
public enum DiscoveryMode
{
    /// <summary>No source given: the embedded demo mesh (its workloads run in-process, its manifests are served as
    /// a folder).</summary>
    Demo,

    /// <summary><c>--manifests DIR</c>: a folder of Kubernetes and Istio manifests, watched.</summary>
    Manifests,

    /// <summary><c>--kubeconfig FILE</c>: a live cluster reached with that kubeconfig.</summary>
    Kubeconfig,

    /// <summary><c>--in-cluster</c>: the cluster the host runs in, with its pod's service account.</summary>
    InCluster,
}

/// <summary>
/// The MeshHost command line: <c>--urls</c>, <c>--http-urls</c>, one of <c>--manifests</c>/<c>--kubeconfig</c>/
/// <c>--in-cluster</c> (or none: the demo mesh), <c>--ca</c>, <c>--ca-tokens</c>, <c>--domain</c>,
/// <c>--trust-domain</c>, <c>--tls-cert</c>/<c>--tls-key</c> and <c>--allow-insecure-transport</c> (values after a
/// space or '='). Kept stable: the README and tests drive it.
/// </summary>
/// <param name="GrpcUrls">Where gRPC (HTTP/2) is served.</param>
/// <param name="HttpUrls">Where HTTP/1.1 is served (may be empty).</param>
/// <param name="Help">Whether <c>--help</c> was asked for (nothing else is then filled).</param>
public sealed record CommandLine(IReadOnlyList<ListenUrl> GrpcUrls, IReadOnlyList<ListenUrl> HttpUrls, bool Help)
{
    /// <summary>The default cluster DNS domain.</summary>
    public const string DefaultDomain = "cluster.local";

    /// <summary>What <c>--help</c> prints (and what a bad command line is answered with).</summary>
    public const string Usage =
        "usage: MeshHost --urls http(s)://127.0.0.1:15010[;...] [--http-urls http(s)://127.0.0.1:15014[;...]]\n"
        + "                [--manifests <dir> | --kubeconfig <file> | --in-cluster]\n"
        + "                [--ca <dir>] [--ca-tokens <file>] [--domain <name>] [--trust-domain <name>]\n"
        + "                [--tls-cert <pem> --tls-key <pem>] [--allow-insecure-transport]\n"
        + "  --urls <urls>          where to serve gRPC (HTTP/2; h2c on http://): ADS (state of the world and delta),\n"
        + "                         istio.v1.auth.IstioCertificateService/CreateCertificate, SDS, grpc.health.v1.Health\n"
        + "  --http-urls <urls>     where to serve HTTP/1.1: GET /healthz, and for loopback callers only\n"
        + "                         /debug/problems, /debug/proxies, /debug/config_dump?proxy=<node id>\n"
        + "  --manifests <dir>      read Kubernetes and Istio manifests from <dir> (watched; reloaded on change)\n"
        + "  --kubeconfig <file>    watch the cluster of that kubeconfig; service account tokens are checked by TokenReview\n"
        + "  --in-cluster           watch the cluster this pod runs in; the CA root is kept in a Secret in istio-system\n"
        + "                         (unless --ca)\n"
        + "                         (none of the three: run the embedded demo mesh and serve its manifests)\n"
        + "  --ca <dir>             the CA's root in Istio's cacerts layout, loaded from <dir> or created there;\n"
        + "                         without it a self-signed root is kept in memory (or, --in-cluster, in a Secret)\n"
        + "  --ca-tokens <file>     a JSON object mapping bearer tokens to SPIFFE IDs (who may ask for certificates);\n"
        + "                         for --manifests and the demo mesh\n"
        + "  --domain <name>        the cluster DNS domain (default cluster.local)\n"
        + "  --trust-domain <name>  the SPIFFE trust domain of workload identities (default: the domain)\n"
        + "  --tls-cert <pem>       the server certificate (PEM, leaf first) for https:// URLs\n"
        + "  --tls-key <pem>        its private key (PEM)\n"
        + "  --allow-insecure-transport\n"
        + "                         accept bearer tokens and send secrets over cleartext from other machines\n"
        + "                         (without it only TLS and loopback connections may carry them)\n"
        + "  --help                 print this text";

    private static readonly string[] ValueOptions =
        ["--urls", "--http-urls", "--manifests", "--kubeconfig", "--ca", "--ca-tokens", "--domain", "--trust-domain", "--tls-cert", "--tls-key"];

    /// <summary>Where the configuration comes from.</summary>
    public DiscoveryMode Mode { get; init; } = DiscoveryMode.Demo;

    /// <summary>The manifests folder (<c>--manifests</c>, full path); null in other modes.</summary>
    public string? Manifests { get; init; }

    /// <summary>The kubeconfig file (<c>--kubeconfig</c>, full path); null in other modes.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The CA's folder (<c>--ca</c>, full path); null keeps the root in memory (or in a Secret, in-cluster).</summary>
    public string? CaFolder { get; init; }

    /// <summary>The static token file (<c>--ca-tokens</c>, full path); null for none.</summary>
    public string? CaTokens { get; init; }

    /// <summary>The cluster DNS domain (<c>--domain</c>).</summary>
    public string Domain { get; init; } = DefaultDomain;

    /// <summary>The SPIFFE trust domain (<c>--trust-domain</c>, default the domain).</summary>
    public string TrustDomain { get; init; } = DefaultDomain;

    /// <summary>The server certificate's PEM file (<c>--tls-cert</c>); null without TLS.</summary>
    public string? TlsCertificate { get; init; }

    /// <summary>The server key's PEM file (<c>--tls-key</c>); null without TLS.</summary>
    public string? TlsKey { get; init; }

    /// <summary>Whether secrets and bearer tokens may cross cleartext connections from other machines.</summary>
    public bool AllowInsecureTransport { get; init; }

    /// <summary>Parses the arguments; on failure <paramref name="error"/> says what is wrong.</summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="command">The command line, when it parses.</param>
    /// <param name="error">Why it does not.</param>
    public static bool TryParse(IReadOnlyList<string> args, out CommandLine command, out string error)
    {
        ArgumentNullException.ThrowIfNull(args);
        command = new CommandLine([], [], Help: false);
        var grpc = new List<ListenUrl>();
        var http = new List<ListenUrl>();
        var single = new Dictionary<string, string>(StringComparer.Ordinal);
        bool allowInsecure = false, inCluster = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                command = command with { Help = true };
                error = string.Empty;
                return true;
            }

            if (arg is "--allow-insecure-transport" or "--in-cluster")
            {
                ref var flag = ref arg == "--in-cluster" ? ref inCluster : ref allowInsecure;
                if (flag)
                {
                    error = $"{arg} is given twice";
                    return false;
                }

                flag = true;
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg;
            if (!ValueOptions.Contains(name, StringComparer.Ordinal))
            {
                error = $"unknown argument '{arg}'";
                return false;
            }

            string value;
            if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                error = $"{name} needs a value";
                return false;
            }

            if (name is "--urls" or "--http-urls")
            {
                if (!ListenUrl.TryParseList(name, value, name == "--urls" ? grpc : http, "http://127.0.0.1:15010", out error))
                {
                    return false;
                }
            }
            else if (string.IsNullOrWhiteSpace(value))
            {
                error = $"{name} needs a value";
                return false;
            }
            else if (!single.TryAdd(name, value))
            {
                error = $"{name} is given twice";
                return false;
            }
        }

        if (grpc.Count == 0)
        {
            error = "missing --urls (where to serve xDS over gRPC, e.g. --urls http://127.0.0.1:15010)";
            return false;
        }

        var ports = grpc.Concat(http).Where(u => u.Port != 0).GroupBy(u => u.Port).FirstOrDefault(g => g.Count() > 1);
        if (ports is not null)
        {
            error = $"port {ports.Key} is given more than once ({string.Join(", ", ports.Select(u => u.Text))}): "
                + "gRPC (HTTP/2) and HTTP/1.1 need their own ports";
            return false;
        }

        if (!TryParseSource(single, inCluster, out var mode, out var manifests, out var kubeconfig, out error)
            || !TryParseCa(single, mode, out var ca, out var tokens, out error)
            || !TryParseDomains(single, out var domain, out var trustDomain, out error)
            || !ListenUrl.TryParseTls(single, [.. grpc, .. http], out var tlsCert, out var tlsKey, out error))
        {
            return false;
        }

        command = new CommandLine(grpc, http, Help: false)
        {
            Mode = mode,
            Manifests = manifests,
            Kubeconfig = kubeconfig,
            CaFolder = ca,
            CaTokens = tokens,
            Domain = domain,
            TrustDomain = trustDomain,
            TlsCertificate = tlsCert,
            TlsKey = tlsKey,
            AllowInsecureTransport = allowInsecure,
        };
        error = string.Empty;
        return true;
    }

    private static bool TryParseSource(Dictionary<string, string> single, bool inCluster, out DiscoveryMode mode, out string? manifests,
        out string? kubeconfig, out string error)
    {
        single.TryGetValue("--manifests", out manifests);
        single.TryGetValue("--kubeconfig", out kubeconfig);
        mode = DiscoveryMode.Demo;
        var given = new[] { manifests is null ? null : "--manifests", kubeconfig is null ? null : "--kubeconfig", inCluster ? "--in-cluster" : null }
            .OfType<string>().ToList();
        if (given.Count > 1)
        {
            error = $"{string.Join(" and ", given)} exclude each other: give one source of configuration (or none for the demo mesh)";
            return false;
        }

        error = string.Empty;
        if (manifests is not null)
        {
            if (!Directory.Exists(manifests))
            {
                error = $"the manifests folder '{manifests}' does not exist" + LookedFor(manifests);
                return false;
            }

            manifests = Path.GetFullPath(manifests);
            mode = DiscoveryMode.Manifests;
        }
        else if (kubeconfig is not null)
        {
            if (!File.Exists(kubeconfig))
            {
                error = $"the kubeconfig file '{kubeconfig}' does not exist" + LookedFor(kubeconfig);
                return false;
            }

            kubeconfig = Path.GetFullPath(kubeconfig);
            mode = DiscoveryMode.Kubeconfig;
        }
        else if (inCluster)
        {
            mode = DiscoveryMode.InCluster;
        }

        return true;
    }

    private static bool TryParseCa(Dictionary<string, string> single, DiscoveryMode mode, out string? ca, out string? tokens, out string error)
    {
        single.TryGetValue("--ca", out ca);
        single.TryGetValue("--ca-tokens", out tokens);
        error = string.Empty;
        if (ca is not null)
        {
            if (File.Exists(ca))
            {
                error = $"--ca needs a folder (created when missing), not the file '{ca}'";
                return false;
            }

            ca = Path.GetFullPath(ca);
        }

        if (tokens is not null)
        {
            if (mode is DiscoveryMode.Kubeconfig or DiscoveryMode.InCluster)
            {
                error = "--ca-tokens is for --manifests and the demo mesh: with a cluster, service account tokens are checked by TokenReview";
                return false;
            }

            if (!File.Exists(tokens))
            {
                error = $"the token file '{tokens}' does not exist" + LookedFor(tokens);
                return false;
            }

            tokens = Path.GetFullPath(tokens);
        }

        return true;
    }

    private static bool TryParseDomains(Dictionary<string, string> single, out string domain, out string trustDomain, out string error)
    {
        domain = single.GetValueOrDefault("--domain", DefaultDomain);
        trustDomain = single.GetValueOrDefault("--trust-domain", domain);
        foreach (var (option, value) in new[] { ("--domain", domain), ("--trust-domain", trustDomain) })
        {
            // DNS names: letters, digits, '-', '.'; no empty label.
            if (value.Split('.').Any(l => l.Length == 0 || l.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-'))))
            {
                error = $"{option} '{value}' is not a DNS name (letters, digits, '-' and '.', e.g. cluster.local)";
                return false;
            }
        }

        error = string.Empty;
        return true;
    }
    private static string LookedFor(string path) => Path.IsPathRooted(path) ? string.Empty : $" (looked for {Path.GetFullPath(path)})";
}
