using System.Net;
using Microsoft.AspNetCore.Http;

namespace XdsServer;

/// <summary>
/// Whether a connection may carry secrets and bearer tokens: TLS, or loopback (unless
/// <see cref="XdsServerOptions.LoopbackIsConfidential"/> is off), or anything when the host opted in with
/// <see cref="XdsServerOptions.AllowInsecureTransport"/>. The xDS server applies it to sensitive resource types;
/// credential checks (bearer tokens) apply it before believing a credential.
/// </summary>
public static class TransportSecurity
{
    /// <summary>Returns null when <paramref name="context"/>'s connection may carry secrets, else why not.</summary>
    /// <param name="context">The request (a gRPC call's HTTP context); null means no connection is known.</param>
    /// <param name="options">The server options in force.</param>
    /// <returns>Null when the connection is acceptable; otherwise a reason naming the fix.</returns>
    public static string? InsecureReason(HttpContext? context, XdsServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AllowInsecureTransport || context?.Request.IsHttps == true)
        {
            return null;
        }

        var remote = context?.Connection.RemoteIpAddress;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }

        if (options.LoopbackIsConfidential && remote is not null && IPAddress.IsLoopback(remote))
        {
            return null;
        }

        var from = remote is null ? "an unknown peer" : remote.ToString();
        return $"the connection from {from} is cleartext HTTP; serve TLS (or, where the path is encrypted otherwise, "
            + "set XdsServerOptions.AllowInsecureTransport)";
    }
}
