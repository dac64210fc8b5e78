// A real xDS client for the interop tests: Grpc.Core 2.46.5 (gRPC C-core 1.46).
//
//   GRPC_XDS_BOOTSTRAP_CONFIG='{...}' dotnet GrpcCoreClient.dll --target xds:///hello [--count N]
//       [--interval-ms MS] [--deadline-ms MS] [--header name=value]... [--message TEXT]
//
// Makes unary xds.test.Echo/Call calls one after another and prints one JSON line per call:
//   {"call":0,"ok":true,"backend":"a"}   or   {"call":0,"ok":false,"code":14,"details":"..."}
// --count 0 calls until standard input closes; with any count, closing standard input stops early.
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using XdsServer.Testing.Echo;

var target = "";
int count = 1, intervalMs = 0, deadlineMs = 5000;
var message = "hello";
var headers = new Metadata();
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} wants a value");
    i++;
    switch (args[i - 1])
    {
        case "--target": target = value; break;
        case "--count": count = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        case "--interval-ms": intervalMs = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        case "--deadline-ms": deadlineMs = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        case "--message": message = value; break;
        case "--header":
            var at = value.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0)
            {
                throw new ArgumentException($"--header wants name=value, got {value}");
            }

            headers.Add(value[..at].ToLowerInvariant(), value[(at + 1)..]);
            break;
        default: throw new ArgumentException($"unknown argument {args[i - 1]}");
    }
}

if (target.Length == 0)
{
    throw new ArgumentException("--target is required");
}

using var stopped = new CancellationTokenSource();
_ = Task.Run(async () =>
{
    var buffer = new char[4096];
    using var stdin = Console.In;
    while (await stdin.ReadAsync(buffer.AsMemory()) > 0)
    {
    }

    await stopped.CancelAsync();
});

var method = new Method<EchoRequest, EchoReply>(MethodType.Unary, "xds.test.Echo", "Call",
    Marshallers.Create(r => r.ToByteArray(), EchoRequest.Parser.ParseFrom),
    Marshallers.Create(r => r.ToByteArray(), EchoReply.Parser.ParseFrom));
var channel = new Channel(target, ChannelCredentials.Insecure);
var invoker = new DefaultCallInvoker(channel);
var stdout = Console.Out;
for (var i = 0; (count == 0 || i < count) && !stopped.IsCancellationRequested; i++)
{
    object outcome;
    try
    {
        var options = new CallOptions(headers, DateTime.UtcNow.AddMilliseconds(deadlineMs));
        var reply = await invoker.AsyncUnaryCall(method, null, options, new EchoRequest { Message = message });
        outcome = new { call = i, ok = true, backend = reply.Backend };
    }
    catch (RpcException e)
    {
        outcome = new { call = i, ok = false, code = (int)e.StatusCode, details = e.Status.Detail };
    }

    await stdout.WriteLineAsync(JsonSerializer.Serialize(outcome));
    await stdout.FlushAsync();
    if (intervalMs > 0)
    {
        try
        {
            await Task.Delay(intervalMs, stopped.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

await channel.ShutdownAsync();
return 0;
