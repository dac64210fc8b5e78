namespace XdsServer.Testing.Interop;

/// <summary>What a real xDS client program is asked to do: make <see cref="Calls"/> unary
/// <c>xds.test.Echo/Call</c> calls one after another to <see cref="Target"/>.</summary>
public sealed record XdsClientRun
{
    /// <summary>The bootstrap, passed as <c>GRPC_XDS_BOOTSTRAP_CONFIG</c>.</summary>
    public required XdsBootstrap Bootstrap { get; init; }

    /// <summary>The channel target.</summary>
    public string Target { get; init; } = "xds:///hello";

    /// <summary>Number of calls; 0 calls until the session is stopped.</summary>
    public int Calls { get; init; } = 1;

    /// <summary>Pause between calls.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.Zero;

    /// <summary>Each call's deadline.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Request metadata sent with every call.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra environment variables for the client program.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>How long the whole run may take before the program is killed and the run fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The program's command-line arguments (the same CLI for every client).</summary>
    public IEnumerable<string> Arguments()
    {
        yield return "--target";
        yield return Target;
        yield return "--count";
        yield return Calls.ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--interval-ms";
        yield return ((long)Interval.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--deadline-ms";
        yield return ((long)Deadline.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, value) in Headers)
        {
            yield return "--header";
            yield return $"{name}={value}";
        }
    }
}
