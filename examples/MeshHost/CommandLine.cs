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
/// The MeshHost command line: the options of <see cref="Options"/> (values after a space or '='), which <c>--help</c>
/// lists with an example each; one of <c>--manifests</c>/<c>--kubeconfig</c>/<c>--in-cluster</c>, or none for the demo
/// mesh. Kept stable: the README and tests drive it.
/// </summary>
/// <param name="GrpcUrls">Where gRPC (HTTP/2) is served.</param>
/// <param name="HttpUrls">Where HTTP/1.1 is served (may be empty).</param>
/// <param name="Help">Whether <c>--help</c> was asked for (nothing else is then filled).</param>
public sealed record CommandLine(IReadOnlyList<ListenUrl> GrpcUrls, IReadOnlyList<ListenUrl> HttpUrls, bool Help)
{
    /// <summary>The default cluster DNS domain.</summary>
    public const string DefaultDomain = "cluster.local";

    /// <summary>Every option the parser accepts, as <c>--help</c> lists them.</summary>
    public static readonly IReadOnlyList<CommandOption> Options =
    [
        new("--urls", "<urls>",
            "where to serve gRPC (HTTP/2; h2c on http://, TLS on https://): ADS (state of the world and delta), CreateCertificate, SDS, grpc.health.v1.Health; several separated by ';' (required)",
            "--urls http://127.0.0.1:15010"),
        new("--http-urls", "<urls>",
            "where to serve HTTP/1.1: GET /healthz (why: to loopback callers), GET /metrics (Prometheus text), the SPIFFE trust bundle, and for loopback callers the status page and /debug/*; several separated by ';'",
            "--http-urls http://127.0.0.1:15014"),
        new("--manifests", "<dir>",
            "read Kubernetes and Istio manifests from <dir> (watched; reloaded on change); without --manifests, --kubeconfig or --in-cluster the embedded demo mesh runs",
            "--manifests ./mesh"),
        new("--kubeconfig", "<file>",
            "watch the cluster of that kubeconfig; service account tokens are checked by TokenReview",
            "--kubeconfig ~/.kube/config"),
        new("--in-cluster", null,
            "watch the cluster this pod runs in, with its service account; the CA root is kept in a Secret in istio-system (unless --ca)",
            "--in-cluster"),
        new("--ca", "<dir>",
            "the CA's root in Istio's cacerts layout, loaded from <dir> or created there (default: a self-signed root in memory, or in a Secret with --in-cluster)",
            "--ca ./cacerts"),
        new("--ca-tokens", "<file>",
            "for --manifests and the demo mesh: a JSON object mapping bearer tokens to SPIFFE IDs (who may ask for certificates)",
            "--ca-tokens tokens.json"),
        new("--domain", "<name>",
            "the cluster DNS domain (default " + DefaultDomain + ")",
            "--domain cluster.local"),
        new("--trust-domain", "<name>",
            "the SPIFFE trust domain of workload identities (default: the domain)",
            "--trust-domain example.org"),
        new("--tls-cert", "<pem>",
            "the server certificate (PEM, leaf first) for https:// URLs; needs --tls-key",
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

    /// <summary>The subcommand that reads a running host's CSDS, as <c>--help</c> lists it.</summary>
    public const string ProxyStatusCommand = "proxy-status";

    /// <summary>What <c>--help</c> prints (and what a bad command line is answered with).</summary>
    public static readonly string Usage = CommandOption.Help(
        "usage: MeshHost --urls <urls> [--http-urls <urls>] [--manifests <dir> | --kubeconfig <file> | --in-cluster]\n"
        + "                [--ca <dir>] [--ca-tokens <file>] [--domain <name>] [--trust-domain <name>]\n"
        + "                [--tls-cert <pem> --tls-key <pem>] [--allow-insecure-transport]\n"
        + "       MeshHost " + ProxyStatusCommand + " --server <url>",
        "The Istio-compatible reference control plane: reads Kubernetes and Istio configuration and serves every Envoy "
        + "sidecar and gateway the configuration istiod would, with its workload certificate.",
        Options,
        "\ncommands:\n"
        + "  " + ProxyStatusCommand + " --server <url>\n"
        + "      print the proxy-status table of a running MeshHost (per proxy and type: SYNCED, NOT SENT or STALE), read from\n"
        + "      its CSDS on the gRPC port, which answers callers on the same machine only\n"
        + "      e.g. MeshHost " + ProxyStatusCommand + " --server http://127.0.0.1:15010\n"
        + "\nexamples:\n"
        + "  MeshHost --urls http://127.0.0.1:15010 --http-urls http://127.0.0.1:15014\n"
        + "  MeshHost --urls http://127.0.0.1:15010 --http-urls http://127.0.0.1:15014 --manifests ./mesh --ca ./cacerts --ca-tokens tokens.json\n"
        + "  MeshHost --urls https://0.0.0.0:15012 --kubeconfig ~/.kube/config --tls-cert server.crt --tls-key server.key\n");

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
                // The flags: --in-cluster, --allow-insecure-transport, and --help (answered above). Each is named: a
                // flag added to the table without a case here is refused, never taken for another.
                ref var flag = ref inCluster;
                switch (name)
                {
                    case "--in-cluster":
                        break;
                    case "--allow-insecure-transport":
                        flag = ref allowInsecure;
                        break;
                    default:
                        error = $"{name} is a flag this parser does not handle";
                        return false;
                }

                if (flag)
                {
                    error = $"{name} is given twice";
                    return false;
                }

                flag = true;
                continue;
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
