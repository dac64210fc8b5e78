using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsServer.Tests.Files;

/// <summary>A raw client of the standard gRPC health service (grpc.health.v1.Health/Check): the request and
/// response are two tiny messages, encoded by hand so the tests need no health package.</summary>
internal static class GrpcHealthProbe
{
    public const int Unknown = 0;
    public const int Serving = 1;
    public const int NotServing = 2;

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);
    private static readonly Method<byte[], byte[]> Check = new(MethodType.Unary, "grpc.health.v1.Health", "Check", Bytes, Bytes);

    /// <summary>The serving status of service "" (the whole server), or null when the server cannot be reached.</summary>
    public static async Task<int?> CheckAsync(GrpcChannel channel, TimeSpan timeout)
    {
        try
        {
            // HealthCheckRequest { string service = 1; } with service "" encodes to nothing.
            var response = await channel.CreateCallInvoker()
                .AsyncUnaryCall(Check, null, new CallOptions(deadline: DateTime.UtcNow + timeout), []);
            // HealthCheckResponse { ServingStatus status = 1; }
            var input = new CodedInputStream(response);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (tag == 8)
                {
                    return input.ReadEnum();
                }

                input.SkipLastField();
            }

            return Unknown;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal)
        {
            return null;
        }
    }

    /// <summary>Waits until the server answers <paramref name="expected"/>, polling (the health protocol's
    /// own Check is a poll); fails with the last answer and the server's output.</summary>
    public static async Task WaitForAsync(Uri server, int expected, TimeSpan timeout, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + timeout;
        int? last = null;
        while (DateTime.UtcNow < deadline)
        {
            // A fresh channel per probe: a channel that found the port closed backs off for seconds before retrying.
            using (var channel = GrpcChannel.ForAddress(server))
            {
                last = await CheckAsync(channel, TimeSpan.FromSeconds(2));
            }

            if (last == expected)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException(
            $"gRPC health did not answer {expected} within {timeout.TotalSeconds:0} s (last: {last?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unreachable"}). Server output:\n{diagnostics()}");
    }
}
