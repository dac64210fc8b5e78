using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

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
        // The connection's own TLS, not the request's scheme (which forwarded headers may rewrite).
        if (options.AllowInsecureTransport || context?.Features.Get<ITlsConnectionFeature>() is not null)
        {
            return null;
        }

        if (options.LoopbackIsConfidential && IsLoopback(context))
        {
            return null;
        }

        var remote = context?.Connection.RemoteIpAddress;
        var from = remote is null ? "an unknown peer" : remote.ToString();
        return $"the connection from {from} is cleartext HTTP; serve TLS (or, where the path is encrypted otherwise, "
            + "set XdsServerOptions.AllowInsecureTransport)";
    }

    /// <summary>True when the caller connected from a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback).</summary>
    /// <param name="context">The request; null is not loopback.</param>
    /// <returns>Whether the peer address is loopback.</returns>
    /// <remarks>A reverse proxy on the same machine makes every caller look local; behind one, turn
    /// <see cref="XdsServerOptions.LoopbackIsConfidential"/> off unless the proxy's own listener is TLS.</remarks>
    public static bool IsLoopback(HttpContext? context)
    {
        var remote = context?.Connection.RemoteIpAddress;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }

        return remote is not null && IPAddress.IsLoopback(remote);
    }
}
