using System.Text.Json;

namespace XdsServer.Operations;

/// <summary>
/// <c>/debug/syncz</c>: the CSDS view as plain JSON. Per proxy (node id): cluster, namespace, streams; per type: the
/// version and nonce last sent, the version ACKed, the last NACK with its error, and the sync state (SYNCED / NOT SENT
/// / STALE as <c>istioctl proxy-status</c> defines them). Versions and names only: no resource payload.
/// </summary>
internal static class SynczWriter
{
    public static void Write(Utf8JsonWriter json, IReadOnlyList<ProxySync> proxies, DateTimeOffset now)
    {
        json.WriteStartObject();
        json.WriteString("generatedAt", now);
        json.WriteStartArray("proxies");
        foreach (var proxy in proxies)
        {
            json.WriteStartObject();
            json.WriteString("id", proxy.NodeId);
            json.WriteString("cluster", proxy.Node.Cluster);
            if (proxy.Namespace is { } ns)
            {
                json.WriteString("namespace", ns);
            }
            else
            {
                json.WriteNull("namespace");
            }

            json.WriteString("connectedSince", proxy.ConnectedSince);
            json.WriteStartArray("streams");
            foreach (var stream in proxy.Streams)
            {
                json.WriteStartObject();
                json.WriteNumber("id", stream.StreamId);
                json.WriteString("protocol", Protocol(stream.Protocol));
                json.WriteString("openedAt", stream.OpenedAt);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("types");
            foreach (var type in proxy.Types)
            {
                json.WriteStartObject();
                json.WriteString("type", ProxySync.ShortName(type.TypeUrl));
                json.WriteString("typeUrl", type.TypeUrl);
                json.WriteString("state", ProxySync.Text(ProxySync.StateOf(type)));
                WriteOptional(json, "sentVersion", type.LastSentVersion);
                WriteOptional(json, "sentNonce", type.LastSentNonce);
                if (type.LastSentAt is { } sentAt)
                {
                    json.WriteString("sentAt", sentAt);
                }
                else
                {
                    json.WriteNull("sentAt");
                }

                WriteOptional(json, "ackedVersion", type.AckedVersion);
                if (type.LastNack is { } nack)
                {
                    json.WriteStartObject("lastNack");
                    json.WriteString("nonce", nack.Nonce);
                    json.WriteString("version", nack.RejectedVersion);
                    json.WriteString("error", nack.Message);
                    json.WriteString("at", nack.At);
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteNull("lastNack");
                }

                json.WriteNumber("resources", type.Resources.Count);
                json.WriteNumber("responsesSent", type.ResponsesSent);
                json.WriteNumber("acks", type.Acks);
                json.WriteNumber("nacks", type.Nacks);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static string Protocol(XdsProtocol protocol) => protocol switch
    {
        XdsProtocol.Delta => "delta",
        XdsProtocol.Rest => "rest",
        _ => "sotw",
    };

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
