using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace XdsServer.Internal;

/// <summary>Says at start what an operator must know about the server's security settings.</summary>
internal sealed class XdsServerStartupLog(IOptions<XdsServerOptions> options, ILoggerFactory loggers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.AllowInsecureTransport)
        {
            XdsLog.InsecureTransportAllowed(loggers.CreateLogger("XdsServer"));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
