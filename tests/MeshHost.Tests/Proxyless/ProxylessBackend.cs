using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using XdsServer.Testing.Echo;

namespace MeshHost.Tests.Proxyless;

/// <summary>A workload of the proxyless test mesh: <c>xds.test.Echo/Call</c> on a free port of 127.0.0.1 answering
/// with its own name, after <see cref="Delay"/> (a slow backend for the timeout case).</summary>
internal sealed class ProxylessBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Service _service;

    private ProxylessBackend(string name, WebApplication app, Service service, int port)
    {
        Name = name;
        _app = app;
        _service = service;
        Port = port;
    }

    /// <summary>The name it answers with (its Pod's name).</summary>
    public string Name { get; }

    /// <summary>Its port on 127.0.0.1 (the Pod's container port).</summary>
    public int Port { get; }

    /// <summary>How long each call waits before it is answered.</summary>
    public TimeSpan Delay => _service.Delay;

    /// <summary>Calls that reached it (counted when they arrive, answered or not).</summary>
    public long Calls => Interlocked.Read(ref _service.Calls);

    public static async Task<ProxylessBackend> StartAsync(string name, TimeSpan delay = default)
    {
        var service = new Service(name, delay);
        var (app, address) = await LoopbackHost.StartAsync(LoopbackHost.Http2Cleartext,
            services => services.AddGrpc().Services.AddSingleton(service),
            built => built.MapGrpcService<Service>());
        return new ProxylessBackend(name, app, service, address.Port);
    }

    public ValueTask DisposeAsync() => LoopbackHost.StopAsync(_app);

    public override string ToString() => $"{Name} (127.0.0.1:{Port})";

    private sealed class Service(string name, TimeSpan delay) : Echo.EchoBase
    {
        public long Calls;

        public TimeSpan Delay { get; } = delay;

        public override async Task<EchoReply> Call(EchoRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref Calls);
            if (Delay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(Delay, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    throw new RpcException(new Status(StatusCode.Cancelled, "the caller gave up"));
                }
            }

            return new EchoReply { Backend = name, Message = request.Message };
        }
    }
}
