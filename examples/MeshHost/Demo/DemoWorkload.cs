using System.Net;
using Grpc.Core;
using MeshHost.Demo.Echo;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace MeshHost.Demo;

/// <summary>One workload of the demo mesh: a gRPC server on 127.0.0.1 (HTTP/2 cleartext, a port the OS picks)
/// that answers <c>xds.test.Echo/Call</c> with its own name, so a caller sees where the mesh routed it.</summary>
public sealed class DemoWorkload : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EchoService _service;

    private DemoWorkload(string name, WebApplication app, EchoService service, int port)
    {
        Name = name;
        _app = app;
        _service = service;
        Port = port;
    }

    /// <summary>The workload's name (<c>reviews-v2</c>): its Pod's name, and what it answers with.</summary>
    public string Name { get; }

    /// <summary>The port it listens on at 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Calls answered so far.</summary>
    public long Calls => Interlocked.Read(ref _service.Calls);

    /// <summary>Starts a workload answering with <paramref name="name"/>.</summary>
    public static async Task<DemoWorkload> StartAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var service = new EchoService(name);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DemoWorkload(name, app, service, new Uri(address).Port);
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (127.0.0.1:{Port})";

    /// <summary>The Echo service of one workload.</summary>
    internal sealed class EchoService(string name) : Echo.Echo.EchoBase
    {
        public long Calls;

        public override Task<EchoReply> Call(EchoRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromResult(new EchoReply { Backend = name, Message = request.Message });
        }
    }
}
