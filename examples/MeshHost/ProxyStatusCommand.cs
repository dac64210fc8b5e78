using System.Globalization;
using Envoy.Service.Status.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace MeshHost;

/// <summary>
/// <c>MeshHost proxy-status --server &lt;url&gt;</c>: asks a server's CSDS
/// (<c>envoy.service.status.v3.ClientStatusDiscoveryService</c>, which MeshHost and FileServer serve to loopback
/// callers) what every connected proxy was sent and whether it ACKed it, and prints the table
/// <c>istioctl proxy-status</c> prints (<see cref="ProxyStatusTable"/>). Exit codes: 0 printed, 1 the server cannot be
/// reached or refused, 2 bad arguments.
/// </summary>
public static class ProxyStatusCommand
{
    /// <summary>The subcommand's name, the first argument.</summary>
    public const string Name = "proxy-status";

    /// <summary>The subcommand's usage text.</summary>
    public const string Usage = """
        Usage: MeshHost proxy-status --server <url> [--timeout <seconds>]

        Prints every proxy connected to the server with its sync state per xDS type, read from the server's CSDS
        (envoy.service.status.v3.ClientStatusDiscoveryService, served to callers on the server's machine only):
          SYNCED    the proxy ACKed the last response of that type sent (even one holding no resources)
          STALE     the last response of that type sent is not answered yet, or the proxy rejected it (NACK)
          NOT SENT  nothing of that type was sent
        One row per proxy (node id): when it has several streams (per-type streams, or an old and a new one during
        a reconnect), the newest stream that asked for a type speaks for it, as on the server's /debug/syncz.

          --server <url>       the server's gRPC address (http:// for cleartext HTTP/2, https:// for TLS)
          --timeout <seconds>  how long to wait for the answer (default 10)

        Example:
          dotnet run --project examples/MeshHost -c Release -- proxy-status --server http://127.0.0.1:15010
        """;

    /// <summary>Runs the subcommand.</summary>
    /// <param name="args">The arguments after <c>proxy-status</c>.</param>
    /// <param name="output">Where the table goes.</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The process exit code.</returns>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Uri? server = null;
        var timeout = TimeSpan.FromSeconds(10);
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--help" or "-h":
                    await output.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 0;
                case "--server" when i + 1 < args.Count:
                    if (!Uri.TryCreate(args[++i], UriKind.Absolute, out server) || server.Scheme is not ("http" or "https"))
                    {
                        return await BadAsync(error, $"--server: '{args[i]}' is not an http:// or https:// URL (e.g. http://127.0.0.1:15010)").ConfigureAwait(false);
                    }

                    break;
                case "--timeout" when i + 1 < args.Count:
                    if (!double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > 3600)
                    {
                        return await BadAsync(error, $"--timeout: '{args[i]}' is not a number of seconds between 0 and 3600").ConfigureAwait(false);
                    }

                    timeout = TimeSpan.FromSeconds(seconds);
                    break;
                case "--server" or "--timeout":
                    return await BadAsync(error, $"{args[i]} needs a value").ConfigureAwait(false);
                default:
                    return await BadAsync(error, $"unknown argument '{args[i]}'").ConfigureAwait(false);
            }
        }

        if (server is null)
        {
            return await BadAsync(error, "--server <url> is required (the server's gRPC address, e.g. http://127.0.0.1:15010)").ConfigureAwait(false);
        }

        ClientStatusResponse response;
        using (var channel = GrpcChannel.ForAddress(server))
        {
            var client = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel);
            try
            {
                response = await client.FetchClientStatusAsync(new ClientStatusRequest(), deadline: DateTime.UtcNow + timeout,
                    cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                await error.WriteLineAsync("proxy-status: " + Describe(server, e, timeout)).ConfigureAwait(false);
                return 1;
            }
        }

        await output.WriteAsync(ProxyStatusTable.Format(response, server)).ConfigureAwait(false);
        return 0;
    }

    private static string Describe(Uri server, RpcException e, TimeSpan timeout) => e.StatusCode switch
    {
        StatusCode.PermissionDenied => $"the server at {server} refused CSDS: {e.Status.Detail}",
        StatusCode.Unimplemented => $"the server at {server} does not serve CSDS (envoy.service.status.v3.ClientStatusDiscoveryService)",
        StatusCode.DeadlineExceeded => $"the server at {server} did not answer within {timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s",
        StatusCode.Unavailable => $"cannot reach the server at {server}: {e.Status.Detail}",
        _ => $"CSDS at {server} failed with {e.StatusCode}: {e.Status.Detail}",
    };

    private static async Task<int> BadAsync(TextWriter error, string message)
    {
        await error.WriteLineAsync($"MeshHost proxy-status: {message}").ConfigureAwait(false);
        await error.WriteLineAsync(Usage).ConfigureAwait(false);
        return 2;
    }
}
