using MeshHost.Tests.Simulation;

namespace MeshHost.Tests.Scenarios;

/// <summary>
/// The mesh every scenario starts from. Namespace bookinfo: productpage, reviews (v1 and v2 running, no v3 pod),
/// ratings (a pod without a sidecar: no tlsMode label) and details on HTTP 9080, mysql on TCP 3306, and a sleep
/// client. Namespace other: a sleep client and its own httpbin on 8000. Every pod but ratings' and mysql's carries
/// <c>security.istio.io/tlsMode: istio</c>, as the injector labels them.
/// </summary>
internal static class Bookinfo
{
    public const string Reviews = "reviews.bookinfo.svc.cluster.local";
    public const string Ratings = "ratings.bookinfo.svc.cluster.local";
    public const string Details = "details.bookinfo.svc.cluster.local";
    public const string Productpage = "productpage.bookinfo.svc.cluster.local";
    public const string Mysql = "mysql.bookinfo.svc.cluster.local";
    public const string Httpbin = "httpbin.other.svc.cluster.local";

    public const string ReviewsVip = "10.96.0.20";
    public const string RatingsVip = "10.96.0.21";
    public const string MysqlVip = "10.96.0.30";

    public const string SleepPrincipal = "spiffe://cluster.local/ns/bookinfo/sa/sleep";
    public const string ProductpagePrincipal = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage";
    public const string OtherPrincipal = "spiffe://cluster.local/ns/other/sa/sleep";

    public const string Yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: productpage, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.10
          selector: {app: productpage}
          ports: [{name: http, port: 9080, targetPort: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.20
          selector: {app: reviews}
          ports: [{name: http, port: 9080, targetPort: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ratings, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.21
          selector: {app: ratings}
          ports: [{name: http, port: 9080, targetPort: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: details, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.22
          selector: {app: details}
          ports: [{name: http, port: 9080, targetPort: 9080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: mysql, namespace: bookinfo}
        spec:
          clusterIP: 10.96.0.30
          selector: {app: mysql}
          ports: [{name: tcp-mysql, port: 3306, targetPort: 3306}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: httpbin, namespace: other}
        spec:
          clusterIP: 10.96.1.10
          selector: {app: httpbin}
          ports: [{name: http, port: 8000, targetPort: 80}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: productpage-v1, namespace: bookinfo, labels: {app: productpage, version: v1, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-productpage}
        status: {podIP: 10.1.0.10, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v1, namespace: bookinfo, labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-reviews}
        status: {podIP: 10.1.0.21, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: reviews-v2, namespace: bookinfo, labels: {app: reviews, version: v2, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-reviews}
        status: {podIP: 10.1.0.22, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: ratings-v1, namespace: bookinfo, labels: {app: ratings, version: v1}}
        spec: {serviceAccountName: bookinfo-ratings}
        status: {podIP: 10.1.0.31, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: details-v1, namespace: bookinfo, labels: {app: details, version: v1, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: bookinfo-details}
        status: {podIP: 10.1.0.41, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: mysql-0, namespace: bookinfo, labels: {app: mysql}}
        spec: {serviceAccountName: mysql}
        status: {podIP: 10.1.0.51, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: sleep-1, namespace: bookinfo, labels: {app: sleep, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: sleep}
        status: {podIP: 10.1.0.99, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: httpbin-1, namespace: other, labels: {app: httpbin, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: httpbin}
        status: {podIP: 10.1.1.10, phase: Running, conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: sleep-2, namespace: other, labels: {app: sleep, security.istio.io/tlsMode: istio}}
        spec: {serviceAccountName: sleep}
        status: {podIP: 10.1.1.99, phase: Running, conditions: [{type: Ready, status: "True"}]}
        """;

    /// <summary>The sleep client in bookinfo.</summary>
    public static readonly ScenarioProxy Sleep = new("10.1.0.99", "sleep-1", "bookinfo", new Dictionary<string, string> { ["app"] = "sleep" }, ServiceAccount: "sleep");

    /// <summary>The sleep client in namespace other.</summary>
    public static readonly ScenarioProxy OtherSleep = new("10.1.1.99", "sleep-2", "other", new Dictionary<string, string> { ["app"] = "sleep" }, ServiceAccount: "sleep");

    /// <summary>reviews v1's sidecar (the server side of inbound scenarios).</summary>
    public static readonly ScenarioProxy ReviewsV1 = new("10.1.0.21", "reviews-v1", "bookinfo",
        new Dictionary<string, string> { ["app"] = "reviews", ["version"] = "v1" }, ServiceAccount: "bookinfo-reviews");

    /// <summary>The ingress gateway in istio-system.</summary>
    public static readonly ScenarioProxy IngressGateway = new("10.1.100.1", "istio-ingressgateway-1", "istio-system",
        new Dictionary<string, string> { ["istio"] = "ingressgateway" }, Type: "router", ServiceAccount: "istio-ingressgateway");

    /// <summary>The bookinfo mesh plus more YAML documents.</summary>
    public static string With(params string[] documents) => Yaml + string.Concat(documents.Select(d => "\n---\n" + d.Trim('\n')));

    /// <summary>The cluster of a service port (and subset).</summary>
    public static string Outbound(string host, int port = 9080, string subset = "") => $"outbound|{port}|{subset}|{host}";

    /// <summary>An HTTP/1.1 request from the sidecar's application on port 9080 (to the reviews VIP unless told).</summary>
    public static SimulatedCall Http(string host, string path = "/", int port = 9080, string address = ReviewsVip) =>
        new() { Address = address, Port = port, Host = host, Path = path };

    /// <summary><paramref name="call"/> with these headers.</summary>
    public static SimulatedCall WithHeaders(this SimulatedCall call, params (string Name, string Value)[] headers) =>
        call with { Headers = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase) };

    /// <summary>A call expectation.</summary>
    public static ScenarioCall Expect(this SimulatedCall call, SimulationExpectation expect, Func<Envoy.Config.Route.V3.Route, string?>? route = null) =>
        new(call, expect, route);
}
