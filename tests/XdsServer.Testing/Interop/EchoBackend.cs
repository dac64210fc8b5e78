using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Testing.Echo;

namespace XdsServer.Testing.Interop;

/// <summary>A gRPC backend on a free loopback port (HTTP/2 cleartext) that answers <c>xds.test.Echo/Call</c>
/// with its own name, so a test sees where a real xDS client routed each call.</summary>
public sealed class EchoBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EchoService _service;

    private EchoBackend(string name, WebApplication app, EchoService service, int port)
    {
        Name = name;
        _app = app;
        _service = service;
        Port = port;
    }

    /// <summary>The name this backend answers with.</summary>
    public string Name { get; }

    /// <summary>The port it listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>Calls answered so far.</summary>
    public long Calls => Interlocked.Read(ref _service.Calls);

    /// <summary>Starts a backend that answers with <paramref name="name"/>.</summary>
    public static async Task<EchoBackend> StartAsync(string name)
    {
        var service = new EchoService(name);
        var (app, address) = await LoopbackHost.StartAsync(LoopbackHost.Http2Cleartext,
            services => services.AddGrpc().Services.AddSingleton(service),
            built => built.MapGrpcService<EchoService>());
        return new EchoBackend(name, app, service, address.Port);
    }

    /// <summary>Starts several backends at once.</summary>
    public static async Task<EchoBackend[]> StartAsync(params string[] names) =>
        await Task.WhenAll(names.Select(StartAsync));

    /// <inheritdoc />
    public ValueTask DisposeAsync() => LoopbackHost.StopAsync(_app);

    /// <inheritdoc />
    public override string ToString() => $"{Name} (127.0.0.1:{Port})";

    private sealed class EchoService(string name) : Echo.Echo.EchoBase
    {
        public long Calls;

        public override Task<EchoReply> Call(EchoRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromResult(new EchoReply { Backend = name, Message = request.Message });
        }
    }
}
