using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using ClusterProto = Envoy.Config.Cluster.V3.Cluster;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace MeshHost.Generation;

/// <summary>A cluster being built, with its upstream HTTP protocol options kept apart until the end (istiod's
/// clusterWrapper): several steps (protocol, connection pool, TLS) add to them, and they are packed once.</summary>
public sealed class ClusterDraft
{
    /// <summary>The key of the upstream HTTP protocol options in <c>typed_extension_protocol_options</c>.</summary>
    public const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>Starts a draft of <paramref name="cluster"/>.</summary>
    public ClusterDraft(ClusterProto cluster) => Cluster = cluster;

    /// <summary>The cluster.</summary>
    public ClusterProto Cluster { get; }

    /// <summary>The upstream HTTP protocol options, when any step set some.</summary>
    public UpstreamHttpOptions? Http { get; private set; }

    /// <summary>The upstream HTTP protocol options, created when absent.</summary>
    public UpstreamHttpOptions HttpOptions => Http ??= new UpstreamHttpOptions();

    /// <summary>Whether the cluster speaks HTTP/2 to the upstream (explicitly).</summary>
    public bool IsHttp2 => Http?.ExplicitHttpConfig?.Http2ProtocolOptions is not null;

    /// <summary>Makes the cluster HTTP/2 (explicit), unless the protocol is already chosen otherwise.</summary>
    public void SetHttp2()
    {
        var options = HttpOptions;
        if (options.UpstreamHttpProtocolOptions is null)
        {
            options.ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() };
        }
    }

    /// <summary>Speaks to the upstream in the protocol the downstream used (HTTP/1.1 or HTTP/2).</summary>
    public void SetUseDownstreamProtocol() =>
        HttpOptions.UseDownstreamProtocolConfig = new UpstreamHttpOptions.Types.UseDownstreamHttpConfig
        {
            HttpProtocolOptions = new Http1ProtocolOptions(),
            Http2ProtocolOptions = new Http2ProtocolOptions(),
        };

    /// <summary>The finished cluster: the HTTP options packed (HTTP/1.1 explicit when no protocol was chosen, as
    /// Envoy requires one).</summary>
    public ClusterProto Build()
    {
        if (Http is { } options)
        {
            if (options.UpstreamProtocolOptionsCase == UpstreamHttpOptions.UpstreamProtocolOptionsOneofCase.None)
            {
                options.ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig { HttpProtocolOptions = new Http1ProtocolOptions() };
            }
            Cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsKey] = Any.Pack(options);
        }
        return Cluster;
    }
}
