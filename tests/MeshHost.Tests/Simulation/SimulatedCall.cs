namespace MeshHost.Tests.Simulation;

/// <summary>What the client speaks inside the connection.</summary>
public enum CallProtocol
{
    /// <summary>HTTP/1.1.</summary>
    Http,

    /// <summary>HTTP/2 (prior knowledge in plaintext, <c>h2</c> under TLS).</summary>
    Http2,

    /// <summary>gRPC: HTTP/2 with <c>content-type: application/grpc</c> and method POST.</summary>
    Grpc,

    /// <summary>Opaque TCP.</summary>
    Tcp,
}

/// <summary>How the client wraps the connection.</summary>
public enum CallTls
{
    /// <summary>No TLS.</summary>
    Plaintext,

    /// <summary>Istio mutual TLS: a client certificate (<see cref="SimulatedCall.Principal"/>) and Istio's ALPN
    /// (<c>istio-http/1.1</c>, <c>istio-h2</c>, <c>istio</c>).</summary>
    Mutual,

    /// <summary>Plain TLS with SNI and the standard ALPN (<c>http/1.1</c>, <c>h2</c>), no client certificate.</summary>
    Simple,
}

/// <summary>Where the connection enters the proxy.</summary>
public enum CallMode
{
    /// <summary>A sidecar's application calls out: iptables sends it to virtualOutbound (15001), which hands it to the
    /// listener of the original destination (exact address:port, else 0.0.0.0:port) or handles it itself.</summary>
    Outbound,

    /// <summary>A call to the sidecar's workload: iptables sends it to virtualInbound (15006).</summary>
    Inbound,

    /// <summary>No iptables: the connection reaches the listener bound to the port (a gateway).</summary>
    Gateway,
}

/// <summary>One request (or TCP connection) to run through a proxy's configuration with <see cref="Simulator"/>.</summary>
public sealed record SimulatedCall
{
    /// <summary>The destination IP (the original destination for <see cref="CallMode.Outbound"/> and
    /// <see cref="CallMode.Inbound"/>). Defaults to 1.3.3.7, an address no test should care about.</summary>
    public string Address { get; init; } = "1.3.3.7";

    /// <summary>The destination port.</summary>
    public int Port { get; init; } = 80;

    /// <summary>The protocol inside the connection.</summary>
    public CallProtocol Protocol { get; init; } = CallProtocol.Http;

    /// <summary>The TLS wrapping.</summary>
    public CallTls Tls { get; init; } = CallTls.Plaintext;

    /// <summary>Where the connection enters the proxy.</summary>
    public CallMode Mode { get; init; } = CallMode.Outbound;

    /// <summary>The Host / :authority header, as the client sends it (a port included if the client includes one).
    /// Defaults to <see cref="Address"/>, with <c>:port</c> unless the port is 80.</summary>
    public string? Host { get; init; }

    /// <summary>The :path, query string included. Defaults to <c>/</c>.</summary>
    public string Path { get; init; } = "/";

    /// <summary>The :method. Defaults to GET (POST for gRPC).</summary>
    public string? Method { get; init; }

    /// <summary>Other request headers (names are case-insensitive).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The TLS SNI. Defaults to <see cref="Host"/> without its port for <see cref="CallTls.Simple"/>; none for
    /// mutual TLS unless given (a sidecar sends <c>outbound_.port_.subset_.host</c>).</summary>
    public string? Sni { get; init; }

    /// <summary>The ALPN the client offers, in its order of preference. Defaults as istio's simulation does: mutual TLS
    /// <c>istio-http/1.1</c>, <c>istio-h2</c> or <c>istio</c>; simple TLS <c>http/1.1</c> or <c>h2</c>.</summary>
    public IReadOnlyList<string>? Alpn { get; init; }

    /// <summary>The SPIFFE ID of the client's certificate (mutual TLS only), e.g.
    /// <c>spiffe://cluster.local/ns/foo/sa/bar</c>.</summary>
    public string? Principal { get; init; }

    /// <summary>The client's IP (source prefix ranges, RBAC remote_ip). Defaults to 10.99.99.99.</summary>
    public string SourceAddress { get; init; } = "10.99.99.99";

    /// <summary>The client's port (source_ports). Defaults to 54321.</summary>
    public int SourcePort { get; init; } = 54321;

    /// <summary>True for the HTTP protocols.</summary>
    public bool IsHttp => Protocol != CallProtocol.Tcp;

    /// <summary>The Host header actually sent.</summary>
    public string EffectiveHost => Host ?? (Port == 80 ? Address : $"{Address}:{Port}");

    /// <summary>The method actually sent.</summary>
    public string EffectiveMethod => Method ?? (Protocol == CallProtocol.Grpc ? "POST" : "GET");

    /// <summary>The SNI actually sent, or null.</summary>
    public string? EffectiveSni => Sni ?? (Tls == CallTls.Simple ? StripPort(EffectiveHost) : null);

    /// <summary>The ALPN actually offered (empty in plaintext: what the HTTP inspector detects is not ALPN the client
    /// sent).</summary>
    public IReadOnlyList<string> EffectiveAlpn => Alpn ?? (Tls, Protocol) switch
    {
        (CallTls.Mutual, CallProtocol.Http) => ["istio-http/1.1"],
        (CallTls.Mutual, CallProtocol.Http2 or CallProtocol.Grpc) => ["istio-h2"],
        (CallTls.Mutual, _) => ["istio"],
        (CallTls.Simple, CallProtocol.Http) => ["http/1.1"],
        (CallTls.Simple, CallProtocol.Http2 or CallProtocol.Grpc) => ["h2"],
        _ => [],
    };

    /// <summary>The path without the query string.</summary>
    public string PathOnly => Path.IndexOfAny(['?', '#']) is var i and >= 0 ? Path[..i] : Path;

    /// <inheritdoc />
    public override string ToString()
    {
        var what = IsHttp ? $"{Protocol} {EffectiveMethod} {EffectiveHost}{Path}" : "TCP";
        var tls = Tls switch
        {
            CallTls.Mutual => $" mTLS({Principal ?? "no principal"})",
            CallTls.Simple => $" TLS(sni={EffectiveSni})",
            _ => string.Empty,
        };
        return $"{Mode} {what} to {Address}:{Port}{tls}";
    }

    internal static string StripPort(string host)
    {
        var colon = host.LastIndexOf(':');
        var bracket = host.LastIndexOf(']');
        return colon > 0 && colon > bracket && int.TryParse(host.AsSpan(colon + 1), out _) ? host[..colon] : host;
    }
}
