using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace XdsServer;

/// <summary>
/// Whether a connection may carry secrets and bearer tokens: TLS, or local — loopback or a Unix domain socket (unless
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
        // The connection's own TLS handshake: not the request's scheme (forwarded headers rewrite it), nor a TLS
        // connection feature (certificate forwarding fakes one from a header).
        if (options.AllowInsecureTransport || context?.Features.Get<ITlsHandshakeFeature>() is not null)
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

    /// <summary>
    /// True when the caller is on this machine: the connection came in on a Unix domain socket, or both its ends are
    /// loopback addresses (127.0.0.0/8, ::1, IPv4-mapped loopback). The local end is what proves it (forwarded
    /// headers may rewrite the remote address, never the local one); a sidecar that delivers to the pod's own IP from
    /// 127.0.0.6 is therefore not local.
    /// </summary>
    /// <param name="context">The request; null is not local.</param>
    /// <returns>Whether the peer is on this machine.</returns>
    /// <remarks>A reverse proxy on the same machine that connects over loopback makes every caller look local; behind
    /// one, turn <see cref="XdsServerOptions.LoopbackIsConfidential"/> off unless the proxy's own listener is TLS.</remarks>
    public static bool IsLoopback(HttpContext? context)
    {
        if (context is null)
        {
            return false;
        }

        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is { AddressFamily: AddressFamily.Unix })
        {
            return true;
        }

        return IsLoopbackAddress(context.Connection.LocalIpAddress) && IsLoopbackAddress(context.Connection.RemoteIpAddress);
    }

    private static bool IsLoopbackAddress(IPAddress? address)
    {
        if (address is { IsIPv4MappedToIPv6: true })
        {
            address = address.MapToIPv4();
        }

        return address is not null && IPAddress.IsLoopback(address);
    }
}
