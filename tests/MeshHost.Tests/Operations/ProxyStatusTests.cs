using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using MeshHost.Tests.Hosting;
using Microsoft.AspNetCore.Builder;
using XdsServer.Cache;

namespace MeshHost.Tests.Operations;

/// <summary>
/// <c>MeshHost proxy-status --server …</c> against a live MeshHost with a real xDS stream: SYNCED after an ACK, STALE
/// after a NACK, NOT SENT for what was never sent; against a library server whose snapshots the test controls: a type
/// sent empty, a response not answered yet, one row per proxy whatever its streams, and the same states as the
/// server's <c>/debug/syncz</c>; a clear error and exit code 1 when the server cannot be reached or refuses CSDS.
/// </summary>
public sealed partial class ProxyStatusTests : IDisposable
{
    private readonly ReviewsManifests _mesh = new("meshhost-proxy-status-");

    public void Dispose() => _mesh.Dispose();

    [Fact]
    public async Task The_table_shows_a_proxy_synced_after_an_ack_and_stale_after_a_nack()
    {
        await using var host = await _mesh.StartHostAsync();
        await using var proxy = XdsProtocolClient.Open(host.Grpc, TestNodes.Sidecar());
        await proxy.SendAsync(TypeUrls.Cluster);
        await proxy.AckAsync(await proxy.NextAsync("the sidecar's clusters"));

        var row = await RowWhenAsync(host.Grpc, "reviews-v1.bookinfo", r => r["CDS"] == "SYNCED");
        Assert.Equal("NOT SENT", row["LDS"]);
        Assert.Equal("NOT SENT", row["EDS"]);
        Assert.Equal("1.24.0", row["VERSION"]);
        Assert.Equal("-", row["CLUSTER"]);
        Assert.Equal(host.Grpc.Authority, row["ISTIOD"]);

        await proxy.SendAsync(TypeUrls.Listener, withNode: false);
        var listeners = await proxy.NextAsync("the sidecar's listeners");
        Assert.NotEmpty(listeners.Resources);
        await proxy.SendAsync(TypeUrls.Listener, version: "", nonce: listeners.Nonce, error: "listener rejected", withNode: false);
        row = await RowWhenAsync(host.Grpc, "reviews-v1.bookinfo", r => r["LDS"] == "STALE");
        Assert.Equal("SYNCED", row["CDS"]);

        // The real command line, as an operator types it (the process prints the same table).
        await using var process = await MeshHostProcess.StartAsync("proxy-status", "--server", host.Grpc.ToString().TrimEnd('/'));
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var printed = Rows(process.Output);
        Assert.Equal("SYNCED", printed["reviews-v1.bookinfo"]["CDS"]);
        Assert.Equal("STALE", printed["reviews-v1.bookinfo"]["LDS"]);
    }

    /// <summary>The states come from the type's last response, even one holding no resource, and a proxy is one row
    /// whatever its streams: the newest stream that asked for a type speaks for it, as on <c>/debug/syncz</c>.</summary>
    [Fact]
    public async Task A_proxy_is_one_row_with_the_states_of_its_last_responses_as_in_syncz()
    {
        await using var server = await LoopbackXdsServer.StartAsync(map: app =>
        {
            app.MapXdsServer();
            app.MapClientStatus();
            app.MapXdsDebug();
        });
        using var http = new HttpClient
        {
            BaseAddress = server.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
        const string name = "reviews-v1.bookinfo";
        var node = TestNodes.Sidecar();
        server.Snapshots.SetSnapshot(node.Id, Snapshot.CreateBuilder().Include(TypeUrls.Cluster).Include(TypeUrls.Listener).Build());

        // No cluster and no listener for this proxy: both are sent empty; it ACKs the clusters and rejects the listeners.
        await using var first = XdsProtocolClient.Open(server.Address, node);
        await first.SendAsync(TypeUrls.Cluster);
        var cds = await first.NextAsync("the empty clusters");
        Assert.Empty(cds.Resources);
        await first.AckAsync(cds);
        await first.SendAsync(TypeUrls.Listener, withNode: false);
        var lds = await first.NextAsync("the empty listeners");
        Assert.Empty(lds.Resources);
        await first.SendAsync(TypeUrls.Listener, version: "", nonce: lds.Nonce, error: "no listeners is no good", withNode: false);
        var row = await RowWhenAsync(server.Address, name, r => r["CDS"] == "SYNCED" && r["LDS"] == "STALE");
        Assert.Equal("NOT SENT", row["EDS"]);
        await AssertSameAsSynczAsync(http, node.Id, row);

        // A second stream of the same proxy (a reconnect that overlaps the old stream): its clusters are sent, not
        // ACKed yet. Still one row; CDS is the new stream's, LDS still the old one's.
        await using var second = XdsProtocolClient.Open(server.Address, node);
        await second.SendAsync(TypeUrls.Cluster);
        var again = await second.NextAsync("the clusters on the second stream");
        Assert.Empty(again.Resources);
        row = await RowWhenAsync(server.Address, name, r => r["CDS"] == "STALE");
        Assert.Equal("STALE", row["LDS"]);
        await AssertSameAsSynczAsync(http, node.Id, row);

        await second.AckAsync(again);
        row = await RowWhenAsync(server.Address, name, r => r["CDS"] == "SYNCED");
        Assert.Equal("STALE", row["LDS"]);
        await AssertSameAsSynczAsync(http, node.Id, row);
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_is_a_clear_error_with_exit_code_1()
    {
        // A port bound but not listening: connections to it are refused, and no one else can take it meanwhile.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        var (code, output, error) = await RunAsync("--server", $"http://127.0.0.1:{port}", "--timeout", "5");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith($"proxy-status: cannot reach the server at http://127.0.0.1:{port}/", error, StringComparison.Ordinal);

        (code, _, error) = await RunAsync("--server", "ftp://127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains("is not an http:// or https:// URL", error, StringComparison.Ordinal);
        (code, _, error) = await RunAsync();
        Assert.Equal(2, code);
        Assert.Contains("--server <url> is required", error, StringComparison.Ordinal);
    }

    /// <summary>CSDS answers loopback callers only: to a caller that is not (made to look remote by the host's
    /// middleware) it refuses, and the command says so.</summary>
    [Fact]
    public async Task A_server_that_refuses_csds_is_a_clear_error_with_exit_code_1()
    {
        await using var host = await InProcessMeshHost.StartAsync(["--urls", "http://127.0.0.1:0", "--manifests", _mesh.Path], remoteCallers: true);
        var (code, output, error) = await RunAsync("--server", host.Grpc.ToString());
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("refused CSDS: CSDS answers loopback callers only", error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ProxyStatusCommand.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The row shows for every type what <c>/debug/syncz</c> shows (NOT SENT where syncz has no such type).</summary>
    private static async Task AssertSameAsSynczAsync(HttpClient http, string nodeId, IReadOnlyDictionary<string, string> row)
    {
        var text = await http.GetStringAsync(new Uri("/debug/syncz", UriKind.Relative));
        using var syncz = JsonDocument.Parse(text);
        var proxy = Assert.Single(syncz.RootElement.GetProperty("proxies").EnumerateArray(), p => p.GetProperty("id").GetString() == nodeId);
        var states = proxy.GetProperty("types").EnumerateArray()
            .ToDictionary(t => t.GetProperty("typeUrl").GetString()!, t => t.GetProperty("state").GetString()!, StringComparer.Ordinal);
        foreach (var (column, typeUrl) in new[]
        {
            ("CDS", TypeUrls.Cluster), ("LDS", TypeUrls.Listener), ("EDS", TypeUrls.ClusterLoadAssignment),
            ("RDS", TypeUrls.RouteConfiguration), ("ECDS", TypeUrls.ExtensionConfig),
        })
        {
            Assert.True(states.GetValueOrDefault(typeUrl, "NOT SENT") == row[column],
                $"{column}: proxy-status says {row[column]}, /debug/syncz says {states.GetValueOrDefault(typeUrl, "(no such type)")}:\n{text}");
        }
    }

    /// <summary>Runs the command until the proxy's row satisfies <paramref name="until"/> (bounded: 15 s).</summary>
    private static async Task<IReadOnlyDictionary<string, string>> RowWhenAsync(Uri server, string name, Func<IReadOnlyDictionary<string, string>, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var (code, output, error) = await RunAsync("--server", server.ToString());
            Assert.True(code == 0, $"proxy-status exited with {code}: {error}");
            last = output;
            if (Rows(output).TryGetValue(name, out var row) && until(row))
            {
                return row;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"proxy-status did not show the expected state of {name} within 15 s. Last output:\n{last}");
    }

    /// <summary>The table's rows by NAME, each as column → value (columns are at least three spaces apart).</summary>
    private static Dictionary<string, IReadOnlyDictionary<string, string>> Rows(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).SkipWhile(l => !l.StartsWith("NAME ", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count > 0, $"no table in:\n{output}");
        var header = Columns().Split(lines[0].TrimEnd());
        Assert.Equal(["NAME", "CLUSTER", "CDS", "LDS", "EDS", "RDS", "ECDS", "ISTIOD", "VERSION"], header);
        return lines.Skip(1).Select(l => Columns().Split(l.TrimEnd()))
            .ToDictionary(cells => cells[0], cells => (IReadOnlyDictionary<string, string>)header.Zip(cells).ToDictionary(p => p.First, p => p.Second));
    }

    [GeneratedRegex(" {3,}")]
    private static partial Regex Columns();
}
