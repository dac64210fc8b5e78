// XdsLoad.Server: the host that benchmarks/XdsLoad measures. gRPC (HTTP/2 cleartext) on one loopback port:
// XdsServer with a SnapshotCache in which every node maps to one group ("mesh": one shared snapshot, no
// scoping), or with --floor a minimal ADS service that only writes prebuilt messages. A control API (HTTP/1.1
// JSON) on a second port: POST /setup, POST /update, GET /stats, GET /published. Port 0 (the default) lets the system choose;
// the bound ports are printed as one line "XDSLOAD-READY grpc=<url> control=<url>".
//
//   dotnet benchmarks/XdsLoad.Server/bin/Release/net10.0/XdsLoad.Server.dll [--grpc-port N] [--control-port N] [--floor]
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using XdsLoad.Server;
using XdsServer.Cache;

var grpcPort = 0;
var controlPort = 0;
var floor = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--grpc-port" when i + 1 < args.Length:
            grpcPort = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--control-port" when i + 1 < args.Length:
            controlPort = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--floor":
            floor = true;
            break;
        default:
            Console.Error.WriteLine($"XdsLoad.Server: unknown argument '{args[i]}'. Usage: [--grpc-port N] [--control-port N] [--floor]");
            return 2;
    }
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Warning);

ListenOptions? grpcListen = null;
ListenOptions? controlListen = null;
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, grpcPort, o =>
    {
        o.Protocols = HttpProtocols.Http2;
        grpcListen = o;
    });
    kestrel.Listen(IPAddress.Loopback, controlPort, o =>
    {
        o.Protocols = HttpProtocols.Http1;
        controlListen = o;
    });
    // XdsLoad may multiplex up to this many proxies on one connection (--streams-per-connection).
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.Limits.MaxConcurrentConnections = null;
});

if (floor)
{
    builder.Services.AddGrpc(o =>
    {
        o.MaxReceiveMessageSize = null;
        o.MaxSendMessageSize = null;
    });
    builder.Services.AddSingleton<FloorHub>();
    builder.Services.AddSingleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<FloorAdsService>, FloorAdsMethods>();
    builder.Services.AddSingleton<IMeshTarget>(sp => sp.GetRequiredService<FloorHub>());
}
else
{
    builder.Services.AddXdsServer()
        .AddSnapshotCache(o => o.NodeHash = new NodeHash(_ => SnapshotTarget.Group))
        .AddCallbacks<AckCounter>();
    builder.Services.AddSingleton(sp => sp.GetServices<XdsServer.IXdsCallbacks>().OfType<AckCounter>().Single());
    builder.Services.AddSingleton<IMeshTarget, SnapshotTarget>();
}

var app = builder.Build();
if (floor)
{
    app.MapGrpcService<FloorAdsService>();
}
else
{
    app.MapXdsServer();
}

app.MapPost("/setup", (MeshShape shape, IMeshTarget target) => target.Setup(shape));
app.MapPost("/update", (UpdateRequest request, IMeshTarget target) =>
{
    try
    {
        return Results.Ok(target.Update(request));
    }
    catch (Exception e) when (e is InvalidOperationException or ArgumentException)
    {
        return Results.BadRequest(e.Message);
    }
});
app.MapGet("/stats", (IMeshTarget target) => target.Stats());
app.MapGet("/published", (IMeshTarget target) =>
{
    try
    {
        return Results.Ok(target.Published());
    }
    catch (InvalidOperationException e)
    {
        return Results.BadRequest(e.Message);
    }
});

await app.StartAsync();
// Ctrl+C and SIGTERM stop the host (the default console lifetime); WaitForShutdownAsync then returns.
Console.WriteLine($"XDSLOAD-READY grpc=http://{grpcListen!.IPEndPoint} control=http://{controlListen!.IPEndPoint} mode={(floor ? "floor" : "xds")}");
await app.WaitForShutdownAsync();
return 0;
