using System.Globalization;

namespace XdsLoad;

/// <summary>The command line.</summary>
internal sealed record LoadOptions
{
    public const string Usage = """
        XdsLoad: N simulated Envoy proxies over ADS against XdsLoad.Server (started here unless attached).
          --scenario S             mesh-10k | churn | full-change | stalled | reconnect | floor | ci   (default churn)
                                   meshhost: the same as --server meshhost (below)
                                   nack: self-test, one update every proxy must NACK (so --check must fail)
                                   drop: self-test, every other proxy ACKs one update but keeps its old resources
                                         (so the held-resource check of --check must fail)
          --proxies N              simulated proxies (default: 10000 for mesh-10k, 200 for ci, else 1000)
          --protocol P             sotw | delta (default sotw)
          --updates K              churn updates (default 60; ci 5; stalled 10)
          --interval T             time between updates: 1s, 250ms (default 1s; ci 200ms)
          --fraction F             share of load assignments a churn update changes (default 0.01)
          --services N             services = clusters = load assignments (default 1000)
          --listeners N            listeners and route configurations (default 100)
          --streams-per-connection M  proxies multiplexed on one HTTP/2 connection (default 1)
          --timeout T              how long to wait for convergence after the last change (default 60s)
          --json FILE              also write the report as JSON
          --max-server-rss MIB     stop waiting for the initial sync when the server's RSS passes this (default 12000)
          --check                  exit 1 if a proxy fails to converge, any NACK is seen, a delta resource is re-sent
                                   at the version held, or after a phase (initial sync, reconnect, updates) a proxy
                                   does not hold exactly what the server publishes (implied by ci)
          --floor                  run against the floor server (implied by the floor scenario)
          --server-pid PID --server-url URL --control-url URL   attach to a running XdsLoad.Server
          --server-dll PATH        the XdsLoad.Server.dll to start (default: built alongside)

        MeshHost mode (--server meshhost; scenario meshhost): the proxies are Istio sidecars of a generated mesh served
        by examples/MeshHost from a manifest folder; after the initial sync it makes --updates endpoint changes (a pod
        of svc-0 flips ready/not ready), one VirtualService change and one new service in ns-0, each measured alone.
          --server S               sdk (XdsLoad.Server, default) | meshhost
          --sidecar-scoping on|off a Sidecar per namespace limiting egress to ./* and istio-system/* (default on)
          --namespaces N           namespaces the --services are spread over (default 50)
          --pods-per-service N     ready pods per service (default 10); proxies take pods round the namespaces
          --manifests-dir DIR      write the mesh there and keep it (default: a temporary folder, deleted)
          --meshhost-dll PATH      the MeshHost.dll to start (default: built alongside)
          --compare-sdk            then run the SDK-only churn at the same proxies and protocol, one load
                                   assignment per update, and report the endpoint change's server CPU ratio
        """;

    public string Scenario { get; init; } = "churn";

    public int Proxies { get; init; }

    public string Protocol { get; init; } = "sotw";

    public int Updates { get; init; }

    public TimeSpan Interval { get; init; }

    public double Fraction { get; init; } = 0.01;

    public int Services { get; init; } = 1000;

    public int Listeners { get; init; } = 100;

    public int StreamsPerConnection { get; init; } = 1;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public int MaxServerRssMiB { get; init; } = 12_000;

    public string? Json { get; init; }

    public bool Check { get; init; }

    public bool Floor { get; init; }

    public int? ServerPid { get; init; }

    public string? ServerUrl { get; init; }

    public string? ControlUrl { get; init; }

    public string? ServerDll { get; init; }

    public string Server { get; init; } = "sdk";

    public bool SidecarScoping { get; init; } = true;

    public int Namespaces { get; init; } = 50;

    public int PodsPerService { get; init; } = 10;

    public string? ManifestsDir { get; init; }

    public string? MeshHostDll { get; init; }

    public bool CompareSdk { get; init; }

    public bool IsDelta => Protocol == "delta";

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        int? proxies = null;
        int? updates = null;
        TimeSpan? interval = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--scenario": o = o with { Scenario = Value() }; break;
                case "--proxies": proxies = Int(Value()); break;
                case "--protocol": o = o with { Protocol = Value() }; break;
                case "--updates": updates = Int(Value()); break;
                case "--interval": interval = Time(Value()); break;
                case "--fraction": o = o with { Fraction = double.Parse(Value(), CultureInfo.InvariantCulture) }; break;
                case "--services": o = o with { Services = Int(Value()) }; break;
                case "--listeners": o = o with { Listeners = Int(Value()) }; break;
                case "--streams-per-connection": o = o with { StreamsPerConnection = Int(Value()) }; break;
                case "--timeout": o = o with { Timeout = Time(Value()) }; break;
                case "--json": o = o with { Json = Value() }; break;
                case "--max-server-rss": o = o with { MaxServerRssMiB = Int(Value()) }; break;
                case "--check": o = o with { Check = true }; break;
                case "--floor": o = o with { Floor = true }; break;
                case "--server-pid": o = o with { ServerPid = Int(Value()) }; break;
                case "--server-url": o = o with { ServerUrl = Value() }; break;
                case "--control-url": o = o with { ControlUrl = Value() }; break;
                case "--server-dll": o = o with { ServerDll = Value() }; break;
                case "--server": o = o with { Server = Value() }; break;
                case "--sidecar-scoping": o = o with { SidecarScoping = Value() switch { "on" => true, "off" => false, var v => throw new ArgumentException($"--sidecar-scoping {v}: on or off") } }; break;
                case "--namespaces": o = o with { Namespaces = Int(Value()) }; break;
                case "--pods-per-service": o = o with { PodsPerService = Int(Value()) }; break;
                case "--manifests-dir": o = o with { ManifestsDir = Value() }; break;
                case "--meshhost-dll": o = o with { MeshHostDll = Value() }; break;
                case "--compare-sdk": o = o with { CompareSdk = true }; break;
                default: throw new ArgumentException($"unknown option '{name}'");
            }
        }

        if (o.Server is not ("sdk" or "meshhost"))
        {
            throw new ArgumentException($"unknown server '{o.Server}' (sdk, meshhost)");
        }

        if (o.Server == "meshhost" || o.Scenario == "meshhost")
        {
            if (o.Floor || o.ServerUrl is not null)
            {
                throw new ArgumentException("--server meshhost starts examples/MeshHost itself: no --floor, no attaching");
            }

            o = o with { Scenario = "meshhost", Server = "meshhost" };
        }

        if (o.Scenario is not ("meshhost" or "mesh-10k" or "churn" or "full-change" or "stalled" or "reconnect" or "floor" or "ci" or "nack" or "drop"))
        {
            throw new ArgumentException($"unknown scenario '{o.Scenario}'");
        }

        if (o.Protocol is not ("sotw" or "delta"))
        {
            throw new ArgumentException($"unknown protocol '{o.Protocol}' (sotw, delta)");
        }

        if ((o.ServerUrl is null) != (o.ControlUrl is null))
        {
            throw new ArgumentException("--server-url and --control-url go together");
        }

        var ci = o.Scenario == "ci";
        return o with
        {
            Proxies = proxies ?? o.Scenario switch { "mesh-10k" => 10_000, "ci" => 200, "nack" or "drop" => 20, _ => 1000 },
            Updates = updates ?? o.Scenario switch { "meshhost" => 3, "ci" => 5, "stalled" => 10, "reconnect" => 1, "full-change" => 1, "nack" or "drop" => 1, "mesh-10k" => 0, _ => 60 },
            Interval = interval ?? (ci ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(1)),
            Timeout = o.Scenario is "nack" or "drop" && o.Timeout == TimeSpan.FromSeconds(60) ? TimeSpan.FromSeconds(3)
                : ci && o.Timeout == TimeSpan.FromSeconds(60) ? TimeSpan.FromSeconds(20) : o.Timeout,
            Check = o.Check || ci || o.Scenario is "nack" or "drop",
            Floor = o.Floor || o.Scenario == "floor",
            StreamsPerConnection = Math.Max(1, o.StreamsPerConnection),
        };
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static TimeSpan Time(string text)
    {
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            return TimeSpan.FromMilliseconds(double.Parse(text[..^2], CultureInfo.InvariantCulture));
        }

        if (text.EndsWith('s'))
        {
            return TimeSpan.FromSeconds(double.Parse(text[..^1], CultureInfo.InvariantCulture));
        }

        if (text.EndsWith('m'))
        {
            return TimeSpan.FromMinutes(double.Parse(text[..^1], CultureInfo.InvariantCulture));
        }

        return TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture));
    }
}
