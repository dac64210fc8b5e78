using Envoy.Admin.V3;
using Envoy.Config.Core.V3;
using Envoy.Service.Status.V3;
using Google.Protobuf.WellKnownTypes;
using GenericXdsConfig = Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig;

namespace XdsServer.Internal;

/// <summary>
/// Turns a stream's published per-type status records (<see cref="TypeStatus"/>) into CSDS <c>GenericXdsConfig</c> entries. For every type the stream has, first ONE
/// type-level entry: an EMPTY name (no resource has one: names are checked non-empty), no config, and the type's state
/// as the operator pages define it (<see cref="Operations.ProxySync.StateOf"/>): <c>config_status</c> SYNCED when the
/// last response sent was ACKed, STALE when it is not answered yet, ERROR when it was NACKed (with
/// <c>error_state</c>), NOT_SENT when nothing was sent; <c>version_info</c> the last version sent and
/// <c>last_updated</c> when. It says what the per-resource entries cannot: a response that held no resource (an empty
/// state of the world, a removal-only delta) was sent, ACKed or rejected. Then one entry per resource held or named
/// (non-empty name), as before. A sensitive type's entries carry name, version and status only: its payload (a private
/// key) never leaves through CSDS; other resources are shown without the fields the API marks sensitive (an inline key
/// in a Listener's TLS context).
/// </summary>
internal static class ClientStatusBuilder
{
    public static ClientConfig Build(Node node, IReadOnlyList<TypeStatus> types)
    {
        var config = new ClientConfig { Node = node };
        foreach (var slot in types)
        {
            var sensitive = slot.Type.Sensitive;
            var lastSent = slot.LastSentResources?.ToDictionary(r => r.Name, r => r.Version, StringComparer.Ordinal)
                ?? new Dictionary<string, string>(StringComparer.Ordinal);
            var nacked = slot.LastNack is { } nack && nack.Nonce == slot.LastSentNonce ? nack : null;
            config.GenericXdsConfigs.Add(TypeEntry(slot, nacked));
            var held = new HashSet<string>(StringComparer.Ordinal);
            foreach (var resource in slot.State.HeldResources())
            {
                held.Add(resource.Name);
                var entry = new GenericXdsConfig
                {
                    TypeUrl = slot.Type.TypeUrl,
                    Name = resource.Name,
                    VersionInfo = resource.Version,
                    XdsConfig = sensitive || resource.Resource is null ? null : SensitiveFields.Redact(resource.Resource),
                    LastUpdated = slot.LastSentAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
                    ClientStatus = ClientResourceStatus.Acked,
                    ConfigStatus = ConfigStatus.Synced,
                };
                var inLastResponse = lastSent.TryGetValue(resource.Name, out var v) && v == resource.Version;
                if (inLastResponse && nacked is not null)
                {
                    entry.ClientStatus = ClientResourceStatus.Nacked;
                    entry.ConfigStatus = ConfigStatus.Error;
                    entry.ErrorState = new UpdateFailureState
                    {
                        Details = nacked.Message,
                        VersionInfo = nacked.RejectedVersion,
                        LastUpdateAttempt = Timestamp.FromDateTimeOffset(nacked.At),
                        FailedConfiguration = sensitive || resource.Resource is null ? null : SensitiveFields.Redact(resource.Resource),
                    };
                }
                else if (inLastResponse && slot.AwaitingAck)
                {
                    entry.ClientStatus = ClientResourceStatus.Requested;
                    entry.ConfigStatus = ConfigStatus.Stale;
                }

                config.GenericXdsConfigs.Add(entry);
            }

            // Named but not held: requested, and as far as this server knows, it does not exist.
            foreach (var name in slot.State.Subscription.Names.Order(StringComparer.Ordinal))
            {
                if (!held.Contains(name))
                {
                    config.GenericXdsConfigs.Add(new GenericXdsConfig
                    {
                        TypeUrl = slot.Type.TypeUrl,
                        Name = name,
                        ClientStatus = slot.ResponsesSent > 0 ? ClientResourceStatus.DoesNotExist : ClientResourceStatus.Requested,
                        ConfigStatus = ConfigStatus.NotSent,
                    });
                }
            }
        }

        return config;
    }

    /// <summary>The type-level entry (empty name, no config) with the state of the type's last response.</summary>
    private static GenericXdsConfig TypeEntry(TypeStatus slot, XdsNack? nacked)
    {
        var entry = new GenericXdsConfig
        {
            TypeUrl = slot.Type.TypeUrl,
            Name = string.Empty,
            VersionInfo = slot.LastSentVersion ?? string.Empty,
            LastUpdated = slot.LastSentAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
        };
        if (slot.LastSentNonce is null)
        {
            (entry.ClientStatus, entry.ConfigStatus) = (ClientResourceStatus.Requested, ConfigStatus.NotSent);
        }
        else if (nacked is not null)
        {
            (entry.ClientStatus, entry.ConfigStatus) = (ClientResourceStatus.Nacked, ConfigStatus.Error);
            entry.ErrorState = new UpdateFailureState
            {
                Details = nacked.Message,
                VersionInfo = nacked.RejectedVersion,
                LastUpdateAttempt = Timestamp.FromDateTimeOffset(nacked.At),
            };
        }
        else if (slot.AwaitingAck)
        {
            (entry.ClientStatus, entry.ConfigStatus) = (ClientResourceStatus.Requested, ConfigStatus.Stale);
        }
        else
        {
            (entry.ClientStatus, entry.ConfigStatus) = (ClientResourceStatus.Acked, ConfigStatus.Synced);
        }

        return entry;
    }
}
