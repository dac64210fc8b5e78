using MeshHost.Tests.Simulation;
using static MeshHost.Tests.Scenarios.Bookinfo;

namespace MeshHost.Tests.Scenarios;

/// <summary>Gateways with their VirtualServices, ServiceEntries, and Sidecar egress scoping.</summary>
internal static class EdgeScenarios
{
    private const string BookinfoGateway = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: bookinfo-gateway, namespace: bookinfo}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 8080, name: http, protocol: HTTP}
            hosts: [bookinfo.example.com]
        """;

    private const string BookinfoGatewayVs = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: bookinfo, namespace: bookinfo}
        spec:
          hosts: [bookinfo.example.com]
          gateways: [bookinfo-gateway]
          http:
          - name: productpage
            match: [{uri: {exact: /productpage}}, {uri: {prefix: /static}}]
            route: [{destination: {host: productpage, port: {number: 9080}}}]
          - name: reviews
            match: [{uri: {prefix: /reviews}}]
            route: [{destination: {host: reviews.bookinfo.svc.cluster.local}}]
        """;

    private static SimulatedCall ToGateway(string host, string path) => new() { Mode = CallMode.Gateway, Address = "10.1.100.1", Port = 8080, Host = host, Path = path };

    public static IEnumerable<MeshScenario> All =>
    [
        new MeshScenario("gateway: 0.0.0.0_<port> with RDS http.<port>, vhost <host>:<port>, routes to mesh services over mTLS")
        {
            Yaml = With(BookinfoGateway, BookinfoGatewayVs),
            Proxy = IngressGateway,
            Calls =
            [
                ToGateway("bookinfo.example.com", "/productpage").Expect(new()
                {
                    Listener = "0.0.0.0_8080",
                    RouteConfig = "http.8080",
                    VirtualHost = "bookinfo.example.com:8080",
                    Route = "productpage",
                    Cluster = Outbound(Productpage),
                    Endpoints = ["10.1.0.10:9080"],
                    UpstreamTransport = "mtls",
                    UpstreamSni = $"outbound_.9080_._.{Productpage}",
                }),
                ToGateway("bookinfo.example.com:8080", "/static/app.js").Expect(new() { VirtualHost = "bookinfo.example.com:8080", Cluster = Outbound(Productpage) }),
                ToGateway("bookinfo.example.com", "/reviews/1").Expect(new() { Route = "reviews", Cluster = Outbound(Reviews) }),
                ToGateway("bookinfo.example.com", "/admin").Expect(new() { Status = 404, Error = "no route matched" }),
                ToGateway("other.example.com", "/productpage").Expect(new() { Status = 404, Error = "no virtual host matched" }),
                new SimulatedCall { Mode = CallMode.Gateway, Port = 9999, Protocol = CallProtocol.Tcp }.Expect(new() { Error = "no matching listener" }),
            ],
        },
        new MeshScenario("a VirtualService bound only to a gateway does not route the sidecars")
        {
            Yaml = With(BookinfoGateway, BookinfoGatewayVs),
            Proxy = Sleep,
            Calls =
            [
                Http("bookinfo.example.com", "/productpage", address: "203.0.113.9").Expect(new() { VirtualHost = "allow_any", Cluster = "PassthroughCluster" }),
            ],
        },
        new MeshScenario("ServiceEntry MESH_EXTERNAL DNS: a STRICT_DNS cluster on the host name, plaintext")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: httpbin-ext, namespace: bookinfo}
                spec:
                  hosts: [api.example.com]
                  location: MESH_EXTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: tls, protocol: TLS}]
                  resolution: DNS
                """),
            Calls =
            [
                Http("api.example.com", "/get", port: 80, address: "203.0.113.50").Expect(new()
                {
                    Listener = "0.0.0.0_80",
                    RouteConfig = "80",
                    VirtualHost = "api.example.com:80",
                    Cluster = Outbound("api.example.com", 80),
                    Endpoints = ["api.example.com:80"],
                    UpstreamTransport = "plaintext",
                }),
                // TLS origination by the app: the sidecar routes on SNI without terminating.
                new SimulatedCall { Address = "203.0.113.50", Port = 443, Protocol = CallProtocol.Tcp, Tls = CallTls.Simple, Sni = "api.example.com" }.Expect(new()
                {
                    Listener = "0.0.0.0_443",
                    NetworkFilter = "envoy.filters.network.tcp_proxy",
                    Cluster = Outbound("api.example.com", 443),
                    Endpoints = ["api.example.com:443"],
                }),
            ],
            Check = sim => sim.Clusters[Outbound("api.example.com", 80)].Type == Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.StrictDns
                ? null : $"type {sim.Clusters[Outbound("api.example.com", 80)].Type}",
        },
        new MeshScenario("ServiceEntry STATIC with an address: <vip>_<port> TCP listener to its endpoints")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: legacy-db, namespace: bookinfo}
                spec:
                  hosts: [db.legacy.example]
                  addresses: [240.0.0.10]
                  location: MESH_EXTERNAL
                  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
                  resolution: STATIC
                  endpoints: [{address: 203.0.113.7}, {address: 203.0.113.8, ports: {tcp-pg: 6432}}]
                """),
            Calls =
            [
                new SimulatedCall { Address = "240.0.0.10", Port = 5432, Protocol = CallProtocol.Tcp }.Expect(new()
                {
                    Listener = "240.0.0.10_5432",
                    Cluster = Outbound("db.legacy.example", 5432),
                    Endpoints = ["203.0.113.7:5432", "203.0.113.8:6432"],
                    UpstreamTransport = "plaintext",
                }),
            ],
        },
        new MeshScenario("Sidecar egress hides another namespace: its host passes through instead of reaching its cluster")
        {
            Yaml = With("""
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: bookinfo}
                spec:
                  egress: [{hosts: ["./*"]}]
                """),
            Calls =
            [
                Http("httpbin.other:8000", port: 8000, address: "10.96.1.10").Expect(new() { Listener = "virtualOutbound", Cluster = "PassthroughCluster", Endpoints = ["10.96.1.10:8000"] }),
                Http("reviews").Expect(new() { Cluster = Outbound(Reviews) }),
            ],
            Check = sim => sim.Clusters.ContainsKey(Outbound(Httpbin, 8000)) ? "the hidden service still has a cluster" : null,
        },
        new MeshScenario("without a Sidecar, the other namespace's service is reached through its own cluster")
        {
            Yaml = Yaml,
            Calls =
            [
                Http("httpbin.other:8000", port: 8000, address: "10.96.1.10").Expect(new() { Listener = "0.0.0.0_8000", Cluster = Outbound(Httpbin, 8000), Endpoints = ["10.1.1.10:80"] }),
            ],
        },
    ];
}
